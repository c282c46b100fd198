namespace Herald.Xds.ControlPlane;

/// <summary>
/// A service's circuit breakers in the mesh file; each limit left out keeps Envoy's default
/// (1024 connections, pending and active requests; 3 concurrent retries).
/// </summary>
public sealed record MeshCircuitBreakers(int? MaxConnections, int? MaxPendingRequests, int? MaxRequests, int? MaxRetries);
