import IAMCLI

// Thin executable: everything lives in the IAMCLI library so tests can run it in-process.
await IAMCommand.runAsProcess()
