namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>One request as a <see cref="RecordingUpstream"/> saw it.</summary>
public sealed class RecordedRequest
{
    private long _bodyLength = -1;

    public RecordedRequest(string method, string path, string query, string protocol, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        Method = method;
        Path = path;
        Query = query;
        Protocol = protocol;
        Headers = headers;
    }

    public string Method { get; }

    /// <summary>Path without the query string.</summary>
    public string Path { get; }

    /// <summary>The query string with its leading '?', or empty.</summary>
    public string Query { get; }

    /// <summary>"HTTP/1.1" or "HTTP/2".</summary>
    public string Protocol { get; }

    /// <summary>Every header field as received (names lower-cased), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>Body bytes read; -1 until the body was read to its end.</summary>
    public long BodyLength
    {
        get => Interlocked.Read(ref _bodyLength);
        internal set => Interlocked.Exchange(ref _bodyLength, value);
    }

    /// <summary>All values of a header joined by ", ", or null when absent.</summary>
    public string? Header(string name)
    {
        string? joined = null;
        foreach (var (key, value) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                joined = joined is null ? value : joined + ", " + value;
            }
        }

        return joined;
    }

    public bool HasHeader(string name) => Header(name) is not null;

    public override string ToString() =>
        $"{Method} {Path}{Query} {Protocol} body={BodyLength}\n" + string.Join('\n', Headers.Select(h => $"  {h.Key}: {h.Value}"));
}
