from ghgwatch.cli import main

main()
