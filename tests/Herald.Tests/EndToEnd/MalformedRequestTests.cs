using System.Text;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>
/// Malformed HTTP/1.1 requests get an error response and a closed connection, reach no
/// upstream, and do not disturb another connection open at the same time.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MalformedRequestTests : IClassFixture<MalformedRequestTests.Proxy>
{
    private const string Head = "POST /malformed HTTP/1.1\r\nHost: test\r\n";

    private readonly Proxy _proxy;

    public MalformedRequestTests(Proxy proxy) => _proxy = proxy;

    public static TheoryData<string> Cases => [.. Requests.Keys];

    /// <summary>The request of each case, and the statuses Envoy users would accept for it.</summary>
    private static readonly Dictionary<string, (string Request, int[] Statuses)> Requests = new()
    {
        ["content-length-and-transfer-encoding"] = (Head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
        ["bad-chunk-size"] = (Head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", [400]),
        ["bare-lf-in-chunk-line"] = (Head + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", [400]),
        ["empty-header-name"] = (Head + ": x\r\nContent-Length: 0\r\n\r\n", [400]),
        ["space-before-colon"] = (Head + "X-Padded : x\r\nContent-Length: 0\r\n\r\n", [400]),
        ["space-before-colon-host"] = ("GET /malformed HTTP/1.1\r\nHost : test\r\n\r\n", [400]),
        ["obs-fold"] = (Head + "X-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n", [400]),
        // Envoy answers 431 for the two limits; 400 is what the issue asks.
        ["headers-over-60-KiB"] = (Head + BigHeaders(4, 16 * 1024) + "Content-Length: 0\r\n\r\n", [400, 431]),
        ["more-than-100-headers"] = (Head + BigHeaders(101, 8) + "Content-Length: 0\r\n\r\n", [400, 431]),
        ["two-content-lengths"] = (Head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", [400]),
        // RFC 9112 lets a server answer 501 to a transfer coding it does not know.
        ["unknown-transfer-encoding"] = (Head + "Transfer-Encoding: gzip\r\n\r\nhello", [400, 501]),
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task MalformedRequest_Rejected_ConnectionClosed_NothingReachesUpstream(string name)
    {
        var (request, statuses) = Requests[name];
        var port = _proxy.Herald.ListenerPort("ingress");
        _proxy.Upstream.Clear();

        // A well-behaved keep-alive connection, open before and after the bad one.
        using var bystander = await RawHttp.ConnectAsync(port);
        await bystander.SendAsync("GET /ok HTTP/1.1\r\nHost: test\r\n\r\n");
        var (before, _) = await bystander.ReadResponseAsync();

        using var bad = await RawHttp.ConnectAsync(port);
        await bad.SendAsync(request);
        var (answer, closed) = await bad.ReadToCloseAsync(TimeSpan.FromSeconds(10));

        await bystander.SendAsync("GET /ok HTTP/1.1\r\nHost: test\r\n\r\n");
        var (after, _) = await bystander.ReadResponseAsync();

        var statusLine = answer.Split("\r\n")[0];
        Assert.True(
            statuses.Any(s => statusLine.StartsWith($"HTTP/1.1 {s}", StringComparison.Ordinal)),
            $"{name}: expected HTTP/1.1 {string.Join(" or ", statuses)}, got '{statusLine}'\n{_proxy.Herald.Transcript()}");
        Assert.True(closed, $"{name}: the connection stayed open after the error response");
        Assert.StartsWith("HTTP/1.1 200", before, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", after, StringComparison.Ordinal);
        var seen = _proxy.Upstream.Requests;
        Assert.True(
            seen.Count == 2 && seen.All(r => r.Path == "/ok"),
            $"{name}: the upstream saw:\n{string.Join('\n', seen.Select(r => r.ToString()))}");
    }

    private static string BigHeaders(int count, int valueLength)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            sb.Append("X-Filler-").Append(i).Append(": ").Append('a', valueLength).Append("\r\n");
        }

        return sb.ToString();
    }

    /// <summary>One herald and one upstream for all the cases (they run one after another).</summary>
    public sealed class Proxy : IAsyncLifetime
    {
        public RecordingUpstream Upstream { get; private set; } = null!;

        public HeraldProcess Herald { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Upstream = await RecordingUpstream.StartAsync("up");
            Herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
                .HttpListener("ingress", l => l.Route("/", "up"))
                .Cluster("up", Upstream.Port));
        }

        public async Task DisposeAsync()
        {
            if (Herald is not null)
            {
                await Herald.DisposeAsync();
            }

            if (Upstream is not null)
            {
                await Upstream.DisposeAsync();
            }
        }
    }
}
