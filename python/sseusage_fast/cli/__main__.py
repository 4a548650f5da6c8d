from sseusage_fast.cli import main

raise SystemExit(main())
