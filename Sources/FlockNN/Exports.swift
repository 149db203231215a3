@_exported import FlockTensor
