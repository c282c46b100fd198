using System.Globalization;
using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// greeter-client.js kept running (one gRPC channel for the whole test, so xDS updates reach
/// the same client): each <see cref="CallAsync"/> writes a command on its stdin and reads the
/// JSON line it answers. Killed on dispose.
/// </summary>
internal sealed class GreeterClient : IAsyncDisposable
{
    private readonly ChildProcess _child;
    private int _next;

    private GreeterClient(ChildProcess child) => _child = child;

    public static async Task<GreeterClient> StartAsync(string folder, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var child = ChildProcess.Start(Tools.Node, [Path.Combine(folder, "greeter-client.js"), "--target", .. args], folder, environment, redirectStdin: true);
        try
        {
            await child.WaitForStdoutLineAsync(l => l == "ready", TimeSpan.FromSeconds(20));
            return new GreeterClient(child);
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="count"/> sequential unary calls (5 s deadline each) with the given
    /// metadata; how many each server answered and how many failed.
    /// </summary>
    public async Task<Tally> CallAsync(int count, params (string Key, string Value)[] metadata)
    {
        var id = "c" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        var pairs = string.Concat(metadata.Select(m => $" {m.Key}={m.Value}"));
        await _child.StandardInput.WriteLineAsync($"call {id} {count}{pairs}");
        await _child.StandardInput.FlushAsync();
        var prefix = $"{{\"id\":\"{id}\"";
        var line = await _child.WaitForStdoutLineAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), TimeSpan.FromSeconds(10 + (count * 5.5)));
        var json = JsonDocument.Parse(line).RootElement;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var server in json.GetProperty("counts").EnumerateObject())
        {
            counts[server.Name] = server.Value.GetInt32();
        }

        var errors = json.GetProperty("errors").EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToArray();
        return new Tally(counts, json.GetProperty("failed").GetInt32(), errors);
    }

    /// <summary>stdout and the tail of stderr (the xDS trace), for assertion messages.</summary>
    public string Transcript() => $"{_child.Description}\n{_child.Transcript()}";

    /// <summary>The xDS trace lines that report a problem (NACKs, validation errors, resolver failures).</summary>
    public string Complaints()
    {
        var lines = _child.Stderr.Split('\n')
            .Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)
                || l.Contains("nack", StringComparison.OrdinalIgnoreCase)
                || l.Contains("invalid", StringComparison.OrdinalIgnoreCase)
                || l.Contains("reject", StringComparison.OrdinalIgnoreCase)
                || l.Contains("unavailable", StringComparison.OrdinalIgnoreCase))
            .Where(l => !l.Contains("\"error_detail\": null", StringComparison.Ordinal) && !l.Contains("cluster_not_found_response_code", StringComparison.Ordinal))
            .Distinct()
            .Take(40);
        return string.Join('\n', lines);
    }

    /// <summary>The last ClusterLoadAssignment the client decoded, as its trace printed it.</summary>
    public string LastDecodedEndpoints()
    {
        var stderr = _child.Stderr;
        var start = stderr.LastIndexOf("Decoded raw resource of type type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", StringComparison.Ordinal);
        if (start < 0)
        {
            return "(no ClusterLoadAssignment decoded)";
        }

        var end = stderr.IndexOf("\n}", start, StringComparison.Ordinal);
        return end < 0 ? stderr[start..] : stderr[start..(end + 2)];
    }

    public ValueTask DisposeAsync() => _child.DisposeAsync();

    /// <summary>Answers per server, failed calls and up to five distinct errors ("code: details").</summary>
    public sealed record Tally(IReadOnlyDictionary<string, int> Counts, int Failed, IReadOnlyList<string> Errors)
    {
        public int Of(string server) => Counts.GetValueOrDefault(server);

        public int Total => Counts.Values.Sum() + Failed;

        public override string ToString() =>
            $"counts {{{string.Join(", ", Counts.Select(c => $"{c.Key}: {c.Value}"))}}}, failed {Failed}{(Errors.Count > 0 ? $" ({string.Join("; ", Errors)})" : string.Empty)}";
    }
}
