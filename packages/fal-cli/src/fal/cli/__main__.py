from fal.cli.main import main

main()
