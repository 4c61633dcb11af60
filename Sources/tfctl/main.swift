import TfctlCLI

Tfctl.main()
