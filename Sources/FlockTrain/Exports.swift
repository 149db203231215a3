@_exported import FlockData
@_exported import FlockNN
@_exported import FlockParallel
@_exported import FlockStore
