@_exported import FlockData
@_exported import FlockNN
