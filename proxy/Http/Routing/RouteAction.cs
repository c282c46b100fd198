namespace Herald.Proxy.Http.Routing;

/// <summary>What a matched route does: forward (<see cref="ClusterAction"/>), redirect or answer.</summary>
internal abstract class RouteAction
{
}
