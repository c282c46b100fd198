using System.Net;
using System.Text;
using Herald.Proxy.Http;

namespace Herald.Tests.Http.Routing;

/// <summary>A request head built from strings; header names are stored lower case.</summary>
internal sealed class TestRequestHead : IRequestHead
{
    private readonly List<(byte[] Name, byte[] Value)> _headers = [];
    private byte[] _method = "GET"u8.ToArray();
    private byte[] _authority = [];
    private byte[] _path = "/"u8.ToArray();
    private byte[] _query = [];
    private byte[] _scheme = "http"u8.ToArray();

    public TestRequestHead(string authority = "example.com", string pathAndQuery = "/")
    {
        _authority = Encoding.UTF8.GetBytes(authority);
        var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        _path = Encoding.UTF8.GetBytes(q < 0 ? pathAndQuery : pathAndQuery[..q]);
        _query = q < 0 ? [] : Encoding.UTF8.GetBytes(pathAndQuery[(q + 1)..]);
    }

    public ReadOnlySpan<byte> Method => _method;

    public ReadOnlySpan<byte> Authority
    {
        get
        {
            AuthorityReads++;
            return _authority;
        }
    }

    public int AuthorityReads { get; private set; }

    public ReadOnlySpan<byte> Path => _path;

    public ReadOnlySpan<byte> Query => _query;

    public ReadOnlySpan<byte> Scheme => _scheme;

    public IPAddress? RemoteAddress { get; set; }

    public int HeaderLookups { get; private set; }

    public TestRequestHead WithMethod(string method)
    {
        _method = Encoding.ASCII.GetBytes(method);
        return this;
    }

    public TestRequestHead WithScheme(string scheme)
    {
        _scheme = Encoding.ASCII.GetBytes(scheme);
        return this;
    }

    public TestRequestHead WithHeader(string name, string value)
    {
        _headers.Add((Encoding.ASCII.GetBytes(name.ToLowerInvariant()), Encoding.UTF8.GetBytes(value)));
        return this;
    }

    public TestRequestHead WithRemote(string address)
    {
        RemoteAddress = IPAddress.Parse(address);
        return this;
    }

    public bool TryGetHeader(ReadOnlySpan<byte> lowerCaseName, out ReadOnlySpan<byte> value)
    {
        HeaderLookups++;
        // A loop over byte arrays, so the stub itself allocates nothing per lookup.
        foreach (var (name, bytes) in _headers)
        {
            if (lowerCaseName.SequenceEqual(name))
            {
                value = bytes;
                return true;
            }
        }

        value = default;
        return false;
    }
}
