namespace Herald.Proxy.Activation;

/// <summary>
/// Tells whoever scales the cluster that requests want it. Called from the request path, outside
/// the gate's lock: an implementation must not block and must not throw (fire and forget).
/// </summary>
internal interface IDemandSignal
{
    void Signal(DemandNotice notice);
}
