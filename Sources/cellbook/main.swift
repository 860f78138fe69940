import CellbookCLI

await Cellbook.runMain()
