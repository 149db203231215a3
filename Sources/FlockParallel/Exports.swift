@_exported import FlockComm
@_exported import FlockNN
