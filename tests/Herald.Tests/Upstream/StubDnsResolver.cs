using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Upstream;

namespace Herald.Tests.Upstream;

/// <summary>Answers from a table the test edits; counts lookups per name.</summary>
internal sealed class StubDnsResolver : IDnsResolver
{
    private readonly ConcurrentDictionary<string, IPAddress[]> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _lookups = new(StringComparer.Ordinal);

    public void Set(string host, params string[] addresses) =>
        _answers[host] = Array.ConvertAll(addresses, IPAddress.Parse);

    public void Fail(string host) => _answers.TryRemove(host, out _);

    public int Lookups(string host) => _lookups.GetValueOrDefault(host);

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        _lookups.AddOrUpdate(host, 1, static (_, n) => n + 1);
        return _answers.TryGetValue(host, out var addresses)
            ? Task.FromResult(addresses)
            : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
    }
}
