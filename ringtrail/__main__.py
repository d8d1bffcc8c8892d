from ringtrail.cli import main

main()
