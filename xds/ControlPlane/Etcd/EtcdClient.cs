using System.Net;
using System.Text;
using System.Text.Json;

namespace Herald.Xds.ControlPlane.Etcd;

/// <summary>
/// A small etcd v3 client over etcd's JSON gateway (<c>/v3/...</c> on the client port): keys
/// and values travel base64-encoded, 64-bit numbers as strings. Requests go to the current
/// endpoint and move on to the next one when it cannot be reached; a call that no endpoint
/// answers throws <see cref="RegistryUnavailableException"/>.
/// </summary>
public sealed class EtcdClient : IDisposable
{
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(5);

    // A watch line holds one batch of events; bound what one line may take.
    private const int MaxWatchLine = 16 * 1024 * 1024;

    private readonly IReadOnlyList<Uri> _endpoints;
    private readonly TimeSpan _requestTimeout;
    private readonly HttpClient _http;
    private int _current;

    public EtcdClient(IReadOnlyList<Uri> endpoints, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("at least one etcd endpoint is required", nameof(endpoints));
        }

        _endpoints = endpoints;
        _requestTimeout = requestTimeout ?? DefaultRequestTimeout;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = _requestTimeout, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public IReadOnlyList<Uri> Endpoints => _endpoints;

    /// <summary>
    /// Parses <c>etcd://HOST:PORT[,HOST:PORT...][/PREFIX]</c> into gateway base addresses and a key
    /// prefix (default <c>/herald/</c>); throws <see cref="FormatException"/> naming the problem.
    /// </summary>
    public static (IReadOnlyList<Uri> Endpoints, string Prefix) ParseStoreUrl(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const string Scheme = "etcd://";
        if (!text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{text}' does not start with {Scheme}; give etcd://HOST:PORT[,HOST:PORT...]");
        }

        var rest = text[Scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var hosts = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 || slash == rest.Length - 1 ? "/herald/" : rest[slash..].TrimEnd('/') + "/";
        var endpoints = new List<Uri>();
        foreach (var part in hosts.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (part.Length == 0 || colon <= 0 || !int.TryParse(part[(colon + 1)..], out var port) || port is < 1 or > 65535)
            {
                throw new FormatException($"'{part}' in '{text}' is not HOST:PORT; give etcd's client address, for example etcd://127.0.0.1:2379");
            }

            endpoints.Add(new Uri($"http://{part}/"));
        }

        return (endpoints, prefix);
    }

    /// <summary>Every key under <paramref name="prefix"/>, at one revision.</summary>
    public async Task<EtcdRange> RangePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var result = await CallAsync("v3/kv/range", new Dictionary<string, object> { ["key"] = Base64(prefix), ["range_end"] = Base64(PrefixEnd(prefix)) }, cancellationToken).ConfigureAwait(false);
        var pairs = new List<EtcdKeyValue>();
        if (result.TryGetProperty("kvs", out var kvs))
        {
            foreach (var kv in kvs.EnumerateArray())
            {
                pairs.Add(ParseKeyValue(kv));
            }
        }

        return new EtcdRange(HeaderRevision(result), pairs);
    }

    /// <summary>Writes a key (attached to <paramref name="lease"/> unless 0); returns the revision of the write.</summary>
    public async Task<long> PutAsync(string key, string value, long lease, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["key"] = Base64(key), ["value"] = Base64(value) };
        if (lease != 0)
        {
            body["lease"] = lease.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return HeaderRevision(await CallAsync("v3/kv/put", body, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Deletes a key; returns the revision after it and how many keys went.</summary>
    public async Task<(long Revision, long Deleted)> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var result = await CallAsync("v3/kv/deleterange", new Dictionary<string, object> { ["key"] = Base64(key) }, cancellationToken).ConfigureAwait(false);
        return (HeaderRevision(result), Int64(result, "deleted"));
    }

    /// <summary>Grants a lease of <paramref name="ttl"/> (whole seconds, rounded up); returns its id.</summary>
    public async Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));
        var result = await CallAsync("v3/lease/grant", new Dictionary<string, object> { ["TTL"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken).ConfigureAwait(false);
        var id = Int64(result, "ID");
        if (id == 0)
        {
            throw new RegistryUnavailableException($"etcd granted no lease: {Int64(result, "error")}");
        }

        return id;
    }

    /// <summary>Renews a lease once; returns its TTL in seconds, 0 when it has expired or never existed.</summary>
    public async Task<long> KeepAliveAsync(long lease, CancellationToken cancellationToken)
    {
        var response = await CallAsync("v3/lease/keepalive", LeaseBody(lease), cancellationToken).ConfigureAwait(false);
        return response.TryGetProperty("result", out var result) ? Int64(result, "TTL") : 0;
    }

    public Task RevokeLeaseAsync(long lease, CancellationToken cancellationToken) => CallAsync("v3/lease/revoke", LeaseBody(lease), cancellationToken);

    /// <summary>
    /// Follows changes under <paramref name="prefix"/> from <paramref name="fromRevision"/> on one
    /// stream, handing each batch of events to <paramref name="onBatch"/> in order. Returns when the
    /// stream ends; throws <see cref="EtcdCompactedException"/> when that revision was compacted away.
    /// </summary>
    public async Task WatchAsync(string prefix, long fromRevision, Func<EtcdWatchBatch, Task> onBatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onBatch);
        var body = new Dictionary<string, object>
        {
            ["create_request"] = new Dictionary<string, object>
            {
                ["key"] = Base64(prefix),
                ["range_end"] = Base64(PrefixEnd(prefix)),
                ["start_revision"] = fromRevision.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        };
        var endpoint = _endpoints[Volatile.Read(ref _current) % _endpoints.Count];
        HttpResponseMessage response;
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(_requestTimeout);
            try
            {
                response = await _http.SendAsync(Post(endpoint, "v3/watch", body), HttpCompletionOption.ResponseHeadersRead, connect.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                MoveOn(endpoint);
                throw new RegistryUnavailableException($"etcd at {endpoint} cannot be reached: {e.Message}", e);
            }
        }

        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                MoveOn(endpoint);
                throw new RegistryUnavailableException($"etcd at {endpoint} refused the watch: {(int)response.StatusCode}");
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), Encoding.UTF8);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length > MaxWatchLine)
                {
                    throw new RegistryUnavailableException($"etcd sent a watch batch over {MaxWatchLine} bytes");
                }

                if (line.Length == 0)
                {
                    continue;
                }

                using var document = JsonDocument.Parse(line);
                if (!document.RootElement.TryGetProperty("result", out var result))
                {
                    throw new RegistryUnavailableException($"etcd ended the watch: {line}");
                }

                var compacted = Int64(result, "compact_revision");
                if (compacted > 0)
                {
                    throw new EtcdCompactedException(compacted);
                }

                if (result.TryGetProperty("canceled", out var canceled) && canceled.ValueKind == JsonValueKind.True)
                {
                    throw new RegistryUnavailableException($"etcd canceled the watch: {line}");
                }

                if (!result.TryGetProperty("events", out var events))
                {
                    continue;
                }

                var batch = new List<EtcdEvent>();
                foreach (var e in events.EnumerateArray())
                {
                    var deleted = e.TryGetProperty("type", out var type) && type.GetString() == "DELETE";
                    batch.Add(new EtcdEvent(deleted, ParseKeyValue(e.GetProperty("kv"))));
                }

                await onBatch(new EtcdWatchBatch(HeaderRevision(result), batch)).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>.</summary>
    internal static string PrefixEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return Encoding.UTF8.GetString(bytes, 0, i + 1);
            }
        }

        return "\0";
    }

    private static Dictionary<string, object> LeaseBody(long lease) =>
        new() { ["ID"] = lease.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static string FromBase64(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.GetString() is { } text ? Encoding.UTF8.GetString(Convert.FromBase64String(text)) : string.Empty;

    private static EtcdKeyValue ParseKeyValue(JsonElement kv) =>
        new(FromBase64(kv, "key"), FromBase64(kv, "value"), Int64(kv, "mod_revision"), Int64(kv, "lease"));

    private static long HeaderRevision(JsonElement result) =>
        result.TryGetProperty("header", out var header) ? Int64(header, "revision") : 0;

    // The gateway writes 64-bit numbers as strings and leaves zero values out.
    private static long Int64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return 0;
        }

        return value.ValueKind switch
        {
            JsonValueKind.Number => value.GetInt64(),
            JsonValueKind.String when long.TryParse(value.GetString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
            _ => 0,
        };
    }

    private static HttpRequestMessage Post(Uri endpoint, string path, object body) =>
        new(HttpMethod.Post, new Uri(endpoint, path)) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };

    private void MoveOn(Uri failed)
    {
        var index = Volatile.Read(ref _current);
        if (_endpoints[index % _endpoints.Count] == failed)
        {
            Interlocked.CompareExchange(ref _current, index + 1, index);
        }
    }

    private async Task<JsonElement> CallAsync(string path, Dictionary<string, object> body, CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (var tried = 0; tried < _endpoints.Count; tried++)
        {
            var endpoint = _endpoints[Volatile.Read(ref _current) % _endpoints.Count];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_requestTimeout);
            try
            {
                using var response = await _http.SendAsync(Post(endpoint, path, body), timeout.Token).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                using var document = JsonDocument.Parse(text);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    var message = document.RootElement.TryGetProperty("message", out var m) ? m.GetString() : text;
                    throw new EtcdException($"etcd at {endpoint} refused {path}: {message}");
                }

                return document.RootElement.Clone();
            }
            catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = e;
                MoveOn(endpoint);
            }
        }

        throw new RegistryUnavailableException($"no etcd endpoint answered {path} ({string.Join(", ", _endpoints)}): {last?.Message}", last);
    }
}
