using System.Text;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Reads one header of a request by its lower-case name, mapping Envoy's pseudo headers to
/// <see cref="IRequestHead"/>'s properties (<c>:path</c> includes the query, as in Envoy).
/// </summary>
internal sealed class HeaderSelector
{
    private readonly Source _source;
    private readonly byte[] _name;

    private HeaderSelector(string lowerName, Source source)
    {
        Name = lowerName;
        _source = source;
        _name = Encoding.ASCII.GetBytes(lowerName);
    }

    private enum Source
    {
        Header,
        Host,
        Method,
        Authority,
        Path,
        Scheme,
    }

    public string Name { get; }

    /// <summary><see cref="Name"/> as ASCII bytes.</summary>
    public ReadOnlySpan<byte> NameBytes => _name;

    /// <summary>Null when the name is a pseudo header Herald does not know.</summary>
    public static HeaderSelector? Create(string name)
    {
        var lower = name.ToLowerInvariant();
        Source? source = lower switch
        {
            ":method" => Source.Method,
            ":authority" => Source.Authority,
            ":path" => Source.Path,
            ":scheme" => Source.Scheme,
            "host" => Source.Host,
            _ when lower.StartsWith(':') => null,
            _ => Source.Header,
        };
        return source is null ? null : new HeaderSelector(lower, source.Value);
    }

    public bool TryGet(IRequestHead request, ref ScratchBuffer scratch, out ReadOnlySpan<byte> value)
    {
        switch (_source)
        {
            case Source.Method:
                value = request.Method;
                return true;
            case Source.Authority:
                value = request.Authority;
                return true;
            case Source.Scheme:
                value = request.Scheme;
                return true;
            case Source.Path:
                var path = request.Path;
                var query = request.Query;
                if (query.IsEmpty)
                {
                    value = path;
                    return true;
                }

                var joined = scratch.Get(path.Length + 1 + query.Length);
                path.CopyTo(joined);
                joined[path.Length] = (byte)'?';
                query.CopyTo(joined[(path.Length + 1)..]);
                value = joined;
                return true;
            case Source.Host:
                // HTTP/1.1's Host is HTTP/2's :authority; Envoy stores both as :authority.
                if (request.TryGetHeader(_name, out value))
                {
                    return true;
                }

                value = request.Authority;
                return !value.IsEmpty;
            default:
                return request.TryGetHeader(_name, out value);
        }
    }
}
