@_exported import FlockTrain
