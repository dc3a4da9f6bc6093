from cxray.cli import main

main()
