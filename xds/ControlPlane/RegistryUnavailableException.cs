namespace Herald.Xds.ControlPlane;

/// <summary>The registry's backing store (etcd) could not be reached; the registry API answers 503.</summary>
public sealed class RegistryUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
