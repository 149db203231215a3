@_exported import FlockData
@_exported import FlockNN
@_exported import FlockParallel
