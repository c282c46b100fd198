using System.Net;

namespace Herald.Proxy.Upstream;

// Stub of the upstream helper's UpstreamEndpoint, per the contract; dropped at merge.
internal sealed class UpstreamEndpoint
{
    private int _active;

    public UpstreamEndpoint(IPEndPoint address)
    {
        Address = address;
        AddressText = address.ToString();
    }

    public IPEndPoint Address { get; }

    public string AddressText { get; }

    public int ActiveRequests => Volatile.Read(ref _active);

    public void BeginRequest() => Interlocked.Increment(ref _active);

    public void EndRequest() => Interlocked.Decrement(ref _active);
}
