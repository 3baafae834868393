"""numba.cuda kernels that share memory within a block: the tiled GEMM behind convolution
and dense layers, and the block reductions (bias gradients, the loss sum, split-batch dW).

Each loops grid-stride over whole tiles or channels whose bounds depend on the block only,
so every thread of a block reaches every cuda.syncthreads(): any grid is correct and the
backend caps it (to one block under the simulator). Tiles are staged in shared memory
between two barriers: one after the loads (all of the tile is written before anyone reads
it) and one after the use (nobody overwrites it while another thread still reads it).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from .cuda_kernels import SIMULATOR, cuda_jit

# Tile edge of the GEMM (threads per block = TILE*TILE) and the reduction block size.
# Smaller under the simulator: each simulated thread is a Python thread.
TILE = 4 if SIMULATOR else 16
RED = 16 if SIMULATOR else 256
ZERO = np.float32(0.0)


@cuda_jit
def gemm(c, a, b, trans_a, trans_b, sum_batch, bias, bias_mode):
    """c[z] (M,N) = op(a[z]) @ op(b[z]) (+ bias), op = transpose when trans_* is set.

    a, b, c are 3-D (batch first); a batch of size 1 is broadcast. With ``sum_batch`` c
    holds S partial sums: c[s] = sum over batches z = s, s+S, s+2S, ... (conv dW =
    sum_n dout_n cols_n^T, split over S so that more blocks share the work; sum_axis0 then
    adds the partials).
    bias_mode: 0 none, 1 bias[row] (conv channels), 2 bias[col] (dense units).
    Launch: block (TILE, TILE); grid up to (ceil(N/TILE), ceil(M/TILE), batches of c).
    Tiles of A and B are staged in shared memory; transposed operands are loaded with the
    thread roles swapped so global reads stay coalesced along threadIdx.x.
    """
    sa = cuda.shared.array((TILE, TILE), dtype=np.float32)  # sa[i, k] = A[row0+i, k0+k]
    sb = cuda.shared.array((TILE, TILE), dtype=np.float32)  # sb[k, j] = B[k0+k, col0+j]
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    m = c.shape[1]
    n = c.shape[2]
    k_dim = a.shape[1] if trans_a else a.shape[2]
    nb = max(a.shape[0], b.shape[0])
    # grid-stride over (batch, tile row, tile column): any grid is correct; loop bounds
    # depend on the block only, so every thread of a block reaches the same syncthreads
    for z in range(cuda.blockIdx.z, c.shape[0], cuda.gridDim.z):
        z_hi = nb if sum_batch else z + 1
        z_step = c.shape[0] if sum_batch else 1
        for row0 in range(cuda.blockIdx.y * TILE, m, cuda.gridDim.y * TILE):
            for col0 in range(cuda.blockIdx.x * TILE, n, cuda.gridDim.x * TILE):
                acc = np.float32(0.0)
                for zz in range(z, z_hi, z_step):
                    za = zz if a.shape[0] > 1 else 0
                    zb = zz if b.shape[0] > 1 else 0
                    for k0 in range(0, k_dim, TILE):
                        if trans_a:  # A[r, k] = a[k, r]: tx walks r (contiguous)
                            r = row0 + tx
                            k = k0 + ty
                            sa[tx, ty] = a[za, k, r] if (r < m and k < k_dim) else ZERO
                        else:  # A[r, k] = a[r, k]: tx walks k (contiguous)
                            r = row0 + ty
                            k = k0 + tx
                            sa[ty, tx] = a[za, r, k] if (r < m and k < k_dim) else ZERO
                        if trans_b:  # B[k, j] = b[j, k]: tx walks k (contiguous)
                            k = k0 + tx
                            j = col0 + ty
                            sb[tx, ty] = b[zb, j, k] if (k < k_dim and j < n) else ZERO
                        else:  # B[k, j] = b[k, j]: tx walks j (contiguous)
                            k = k0 + ty
                            j = col0 + tx
                            sb[ty, tx] = b[zb, k, j] if (k < k_dim and j < n) else ZERO
                        cuda.syncthreads()
                        for kk in range(TILE):
                            acc += sa[ty, kk] * sb[kk, tx]
                        cuda.syncthreads()
                row = row0 + ty
                col = col0 + tx
                if row < m and col < n:
                    if bias_mode == 1:
                        acc += bias[row]
                    elif bias_mode == 2:
                        acc += bias[col]
                    c[z, row, col] = acc


@cuda_jit
def sum_axis0(out, parts):
    """out (M,) = parts (S, M) summed over S: adds the split-batch GEMM partials."""
    n_parts, m = parts.shape
    for k in range(cuda.grid(1), m, cuda.gridsize(1)):
        acc = np.float32(0.0)
        for s in range(n_parts):
            acc += parts[s, k]
        out[k] = acc


@cuda_jit
def channel_sum(out, x):
    """out (F,) = sum of x (N, F, P) over N and P. One block (RED threads) per channel,
    tree reduction in shared memory. Also dense db (x = dout as (N, M, 1)) and loss sums."""
    buf = cuda.shared.array(RED, dtype=np.float32)
    tid = cuda.threadIdx.x
    n_img, n_f, n_pos = x.shape
    total = n_img * n_pos
    for f in range(cuda.blockIdx.x, n_f, cuda.gridDim.x):  # uniform per block
        acc = np.float32(0.0)
        for k in range(tid, total, RED):
            acc += x[k // n_pos, f, k % n_pos]
        buf[tid] = acc
        cuda.syncthreads()
        s = RED // 2
        while s > 0:
            if tid < s:
                buf[tid] += buf[tid + s]
            cuda.syncthreads()
            s //= 2
        if tid == 0:
            out[f] = buf[0]
        cuda.syncthreads()
