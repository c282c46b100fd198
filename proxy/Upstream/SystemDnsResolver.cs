using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>The operating system's resolver.</summary>
internal sealed class SystemDnsResolver : IDnsResolver
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);
}
