"""Entry point of the frozen app: the ``drawcnn`` command (GUI by default, ``--self-test``...).

One option exists only here: ``--self-test-report PATH`` (or ``--self-test-report=PATH``)
writes everything the run prints to PATH. A windowed app on Windows or macOS has no console,
so the self-test's lines would go nowhere; its exit code is set either way.
"""

import sys

OPTION = "--self-test-report"


def _take_report_path(argv: list[str]) -> tuple[list[str], str | None]:
    rest, path = [], None
    it = iter(argv)
    for arg in it:
        if arg == OPTION:
            path = next(it, None)
        elif arg.startswith(OPTION + "="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, path


def main() -> int:
    argv, report = _take_report_path(sys.argv[1:])
    if report is None:
        from drawcnn.cli import main as cli_main

        return cli_main(argv)
    with open(report, "w", encoding="utf-8") as f:
        sys.stdout = sys.stderr = f
        from drawcnn.cli import main as cli_main

        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse errors, --help
            code = exc.code if isinstance(exc.code, int) else 1
        print(f"exit code {code}", file=f)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
