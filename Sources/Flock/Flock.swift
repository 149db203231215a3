// The umbrella module: `import Flock` brings in every public module.
@_exported import FlockTensor
@_exported import FlockNN
@_exported import FlockData
@_exported import FlockComm
@_exported import FlockParallel
@_exported import FlockStore
@_exported import FlockReport
@_exported import FlockTrain
@_exported import FlockSweep
@_exported import FlockExport
@_exported import FlockTracking
@_exported import FlockOptuna
