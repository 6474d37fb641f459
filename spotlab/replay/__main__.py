"""``python -m spotlab.replay SCENARIO``: serve a replay scenario until Ctrl-C."""

from spotlab.replay import main

main()
