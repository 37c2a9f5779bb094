from dbtune.cli import main

main()
