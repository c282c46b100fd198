using System.Globalization;
using System.Text.Json;
using Herald.Tests.EndToEnd.Xds;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// <c>herald sidecar ... --interception REDIRECT</c> inside a pod's namespace, run with group
/// 1337 so the pod's interception rules leave its own connections alone (the user stays root,
/// so it can read the build wherever the repository was cloned). Its admin endpoint is
/// 127.0.0.1:15000 of the pod, read with curl inside the namespace. Killed on dispose.
/// </summary>
internal sealed class PodSidecar : IAsyncDisposable
{
    public const int ProxyGid = 1337;
    public const string AdminAddress = "127.0.0.1:15000";

    private readonly PodNetwork _network;
    private readonly ChildProcess _child;

    private PodSidecar(PodNetwork network, Pod pod, ChildProcess child)
    {
        _network = network;
        Pod = pod;
        _child = child;
    }

    public Pod Pod { get; }

    public bool HasExited => _child.HasExited;

    public static PodSidecar Start(PodNetwork network, Pod pod, string xds, string nodeId, string workload, string? service)
    {
        string[] args =
        [
            "sidecar", "--xds", xds, "--node-id", nodeId, "--cluster", workload,
            .. service is null ? Array.Empty<string>() : ["--service", service],
            "--interception", "REDIRECT", "--admin", AdminAddress,
        ];
        var setpriv = Tools.Find("setpriv") ?? throw new InvalidOperationException(
            "'setpriv' was not found on PATH: the interception end-to-end tests run the sidecar with group 1337 through it " +
            "(install the Debian package 'util-linux').");
        var gid = ProxyGid.ToString(CultureInfo.InvariantCulture);
        var child = network.Start(pod, [setpriv, $"--regid={gid}", "--clear-groups", "--", .. HeraldCli.CommandLine(args)]);
        return new PodSidecar(network, pod, child);
    }

    /// <summary>GET an admin path through curl in the pod; throws unless it answers 2xx.</summary>
    public async Task<string> AdminAsync(string path)
    {
        var (status, body) = await TryAdminAsync(path);
        if (status is < 200 or > 299)
        {
            throw new InvalidOperationException($"admin GET {path} in {Pod}: {status}\n{body}\n{Transcript()}");
        }

        return body;
    }

    /// <summary>/stats of the sidecar as name -> value text (histograms keep their summary text).</summary>
    public async Task<IReadOnlyDictionary<string, string>> StatsAsync()
    {
        return HeraldProcess.ParseStatsText(await AdminAsync("/stats"));
    }

    /// <summary>A counter or gauge; throws, listing the stats with the same first two parts, when it is missing.</summary>
    public async Task<long> StatAsync(string name) => Parse(await StatsAsync(), name);

    /// <summary>
    /// Polls /stats until the stat satisfies <paramref name="condition"/> (stats may lag the
    /// response by a moment); returns its last value either way, after at most <paramref name="timeout"/>.
    /// </summary>
    public async Task<long> WaitForStatAsync(string name, Func<long, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var value = await StatAsync(name);
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Connections the listener named <paramref name="listener"/> accepted: its
    /// <c>listener.ADDRESS.downstream_cx_total</c> when the proxy emits listener stats, else the
    /// sum of <c>downstream_cx_total</c> over the distinct HTTP connection managers and TCP proxies
    /// of its filter chains (each accepted connection is served by exactly one chain). Returns
    /// the count and the stats it was made of, for failure messages.
    /// </summary>
    public async Task<(long Count, string Source)> ListenerConnectionsAsync(string listener)
    {
        var (address, chainStats) = ListenerStats(await AdminAsync("/config_dump"), listener);
        var stats = await StatsAsync();
        var own = $"listener.{address}.downstream_cx_total";
        if (stats.ContainsKey(own))
        {
            return (Parse(stats, own), own);
        }

        if (chainStats.Count == 0)
        {
            throw new InvalidOperationException($"listener {listener} in {Pod} has no HTTP connection manager or TCP proxy to count connections by");
        }

        long total = 0;
        var parts = new List<string>();
        foreach (var name in chainStats)
        {
            var value = Parse(stats, name);
            total += value;
            parts.Add($"{name}: {value}");
        }

        return (total, string.Join(", ", parts));
    }

    /// <summary>
    /// Polls <see cref="ListenerConnectionsAsync"/> until the count reaches <paramref name="atLeast"/>;
    /// returns the count then, or at the deadline.
    /// </summary>
    public async Task<(long Count, string Source)> WaitForListenerConnectionsAsync(string listener, long atLeast, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var count = await ListenerConnectionsAsync(listener);
            if (count.Count >= atLeast || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Waits until /ready answers 200 and <paramref name="configured"/> holds for the pair
    /// (/config_dump, /clusters); throws with the last state seen, and the sidecar's output, at the deadline.
    /// </summary>
    public async Task WaitConfiguredAsync(Func<string, string, bool> configured, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (true)
        {
            if (_child.HasExited)
            {
                await _child.WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException($"the sidecar in {Pod} exited with code {_child.ExitCode} before it was ready.\n{Transcript()}");
            }

            var (status, body) = await TryAdminAsync("/ready");
            if (status == 200)
            {
                var (dumpStatus, dump) = await TryAdminAsync("/config_dump");
                var (clustersStatus, clusters) = await TryAdminAsync("/clusters");
                if (dumpStatus == 200 && clustersStatus == 200 && configured(dump, clusters))
                {
                    return;
                }

                last = $"ready, but not yet {what}.\n/clusters:\n{Tail(clusters)}";
            }
            else
            {
                last = $"GET /ready: {status} {body}";
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the sidecar in {Pod} was not ready and {what} within {timeout}: {last}\n{Transcript()}");
            }

            await Task.Delay(100);
        }
    }

    public string Transcript() => $"sidecar in {Pod}: {_child.Description}\n{_child.Transcript()}";

    public ValueTask DisposeAsync() => _child.DisposeAsync();

    private static long Parse(IReadOnlyDictionary<string, string> stats, string name)
    {
        if (!stats.TryGetValue(name, out var text))
        {
            var parts = name.Split('.');
            var root = string.Join('.', parts.Take(Math.Min(2, parts.Length - 1)));
            var near = string.Join('\n', stats.Keys.Where(k => k.StartsWith(root, StringComparison.Ordinal)).Order(StringComparer.Ordinal).Take(80));
            throw new KeyNotFoundException($"stat '{name}' is not in /stats. Stats starting with '{root}':\n{near}");
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"stat '{name}' is not an integer: '{text}'");
    }

    /// <summary>A listener's address as listener stats name it (0.0.0.0_15001), and its chains' connection counters.</summary>
    private (string Address, IReadOnlyCollection<string> ChainStats) ListenerStats(string configDump, string name)
    {
        using var dump = JsonDocument.Parse(configDump);
        foreach (var config in dump.RootElement.GetProperty("configs").EnumerateArray())
        {
            if (!config.TryGetProperty("@type", out var type) || type.GetString()?.EndsWith(".ListenersConfigDump", StringComparison.Ordinal) != true)
            {
                continue;
            }

            var candidates = new List<JsonElement>();
            if (config.TryGetProperty("dynamic_listeners", out var dynamic))
            {
                candidates.AddRange(dynamic.EnumerateArray()
                    .Where(l => l.TryGetProperty("active_state", out _))
                    .Select(l => l.GetProperty("active_state").GetProperty("listener")));
            }

            if (config.TryGetProperty("static_listeners", out var statics))
            {
                candidates.AddRange(statics.EnumerateArray().Select(l => l.GetProperty("listener")));
            }

            foreach (var listener in candidates)
            {
                if (listener.GetProperty("name").GetString() != name)
                {
                    continue;
                }

                var socket = listener.GetProperty("address").GetProperty("socket_address");
                var address = $"{socket.GetProperty("address").GetString()}_{socket.GetProperty("port_value").GetInt32()}";
                var chains = new List<JsonElement>();
                if (listener.TryGetProperty("filter_chains", out var list))
                {
                    chains.AddRange(list.EnumerateArray());
                }

                if (listener.TryGetProperty("default_filter_chain", out var fallback))
                {
                    chains.Add(fallback);
                }

                var stats = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var chain in chains)
                {
                    if (!chain.TryGetProperty("filters", out var filters))
                    {
                        continue;
                    }

                    foreach (var filter in filters.EnumerateArray())
                    {
                        if (!filter.TryGetProperty("typed_config", out var typed) || !typed.TryGetProperty("stat_prefix", out var prefix))
                        {
                            continue;
                        }

                        var filterType = typed.GetProperty("@type").GetString() ?? string.Empty;
                        if (filterType.EndsWith(".HttpConnectionManager", StringComparison.Ordinal))
                        {
                            stats.Add($"http.{prefix.GetString()}.downstream_cx_total");
                        }
                        else if (filterType.EndsWith(".TcpProxy", StringComparison.Ordinal))
                        {
                            stats.Add($"tcp.{prefix.GetString()}.downstream_cx_total");
                        }
                    }
                }

                return (address, stats);
            }
        }

        throw new InvalidOperationException($"listener {name} is not in the config dump of the sidecar in {Pod}");
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];

    // curl exits non-zero when nothing listens yet; that is status 0 here.
    private async Task<(int Status, string Body)> TryAdminAsync(string path)
    {
        var result = await _network.CurlAsync(Pod, "-w", "\n%{http_code}", $"http://{AdminAddress}{path}");
        var cut = result.Stdout.LastIndexOf('\n');
        if (result.ExitCode != 0 || cut < 0 || !int.TryParse(result.Stdout[(cut + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var status))
        {
            return (0, $"curl exit code {result.ExitCode}: {result.Stderr.Trim()}");
        }

        return (status, result.Stdout[..cut]);
    }
}
