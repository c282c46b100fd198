using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Herald.Tests.EndToEnd.Xds;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Herald.Tests.EndToEnd.Activation;

/// <summary>
/// Scale from zero (issue #5) end to end: <c>herald gateway</c> with its embedded control plane
/// holds requests for a service that has no instance, tells the test's autoscaler (the mesh
/// file's <c>activation.webhook</c>) and its own <c>/v1/demand</c>, and releases every held
/// request once the autoscaler has started an upstream and registered it through the registry
/// API. Overflow, hold timeout, fail-fast and route timeout answer with their reasons. A
/// <c>herald sidecar</c> holds a raw TCP connection the same way.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ScaleFromZeroTests(ITestOutputHelper output)
{
    private const int ColdPort = 8080;
    private const int TinyPort = 8081;
    private const int BriefPort = 8082;
    private const string ColdCluster = "outbound|8080||cold";
    private const string TinyCluster = "outbound|8081||tiny";
    private const string BriefCluster = "outbound|8082||brief";

    // 40 HTTP/1.1 connections (one held request each, two more pipelined behind it), 4 h2c
    // connections of 10 streams and 2 of 10 gRPC calls: 100 requests held at once.
    private const int H1Connections = 40;
    private const int H1Pipelined = 3;
    private const int H2cConnections = 4;
    private const int GrpcConnections = 2;
    private const int StreamsPerConnection = 10;
    private const int HeldAtOnce = H1Connections + ((H2cConnections + GrpcConnections) * StreamsPerConnection);

    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 120_000)]
    public async Task EmbeddedGateway_ServiceWithZeroInstances_HoldsMixedRequestsUntilAutoscalerRegistersOne()
    {
        var testStart = DateTimeOffset.UtcNow;
        var gatewayPort = FreePort.Next();
        var apiPort = FreePort.Next();
        using var api = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

        // The autoscaler starts its upstream once the test has seen all 100 requests held, so the
        // peak is observed; a real one would start it at once.
        var allHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        SequenceUpstream? upstream = null;
        long registeredAt = 0;
        await using var autoscaler = await TestAutoscaler.StartAsync(async () =>
        {
            await allHeld.Task.WaitAsync(StepTimeout);
            upstream = await SequenceUpstream.StartAsync();
            registeredAt = Stopwatch.GetTimestamp();
            await RegisterAsync(api, apiPort, "cold", upstream.Port);
        });

        try
        {
            using var mesh = new MeshFile(MeshYaml(gatewayPort, autoscaler.WebhookUrl));
            await using var gateway = await DataPlaneProcess.StartEmbeddedGatewayAsync(mesh.Path, apiPort);
            string Context() => $"--- mesh.yaml ---\n{mesh.Text}\n--- gateway ---\n{gateway.Transcript()}";
            await WaitUntilServingAsync(gateway, gatewayPort, [ColdCluster], Context);

            using var clients = new ClientSet(gatewayPort);
            var h1 = Enumerable.Range(0, H1Connections).Select(c => Task.Run(() => PipelinedHttp1Async(gatewayPort, $"h1-{c}"))).ToArray();
            var h2c = Enumerable.Range(0, H2cConnections)
                .SelectMany(c => Enumerable.Range(0, StreamsPerConnection).Select(s => Task.Run(() => clients.H2cAsync(c, s))))
                .ToArray();
            var grpc = Enumerable.Range(0, GrpcConnections)
                .SelectMany(c => Enumerable.Range(0, StreamsPerConnection).Select(s => Task.Run(() => clients.GrpcAsync(c, s))))
                .ToArray();
            Task[] all = [.. h1, .. h2c, .. grpc];

            // All 100 are held at once, and nothing has answered yet.
            var reachedPeak = await gateway.WaitForStatAsync(Stat(ColdCluster, "held"), v => v >= HeldAtOnce, StepTimeout);
            var early = all.Where(t => t.IsCompleted).ToList();
            Assert.True(early.Count == 0, $"{early.Count} requests ended before any instance existed: {string.Join("; ", early.Take(5).Select(Describe))}\n{Context()}");
            Assert.True(reachedPeak, $"{Stat(ColdCluster, "held")} never reached {HeldAtOnce}: {await gateway.GetStatAsync(Stat(ColdCluster, "held"))}\n{Context()}");
            Assert.Equal(HeldAtOnce, await gateway.GetStatAsync(Stat(ColdCluster, "held")));
            var firstDemand = await autoscaler.FirstDemand.WaitAsync(StepTimeout);

            // The autoscaler starts the upstream and registers it; every held request completes.
            allHeld.SetResult();
            await autoscaler.ScaledUp.WaitAsync(StepTimeout);
            var released = Task.WhenAll(all);
            var finished = await Task.WhenAny(released, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(finished == released, $"{all.Count(t => !t.IsCompleted)} requests still unanswered 30 s after the registration\n{Context()}");
            await released;
            var registrationToAll = Stopwatch.GetElapsedTime(registeredAt);
            output.WriteLine($"registration to all {H1Connections * H1Pipelined + ((H2cConnections + GrpcConnections) * StreamsPerConnection)} answered: {registrationToAll.TotalMilliseconds:0} ms");

            // Each client checked its answers: on HTTP/1.1 three per connection, in order; on h2c
            // and gRPC one per stream (streams of one connection carry no order among them).

            // The upstream saw each request once; on each HTTP/1.1 connection, in the order sent.
            var arrivals = upstream!.Arrivals;
            var expected = (H1Connections * H1Pipelined) + ((H2cConnections + GrpcConnections) * StreamsPerConnection);
            Assert.Equal(expected, arrivals.Count);
            var duplicates = arrivals.GroupBy(a => (a.Conn, a.Seq)).Where(g => g.Count() > 1).Select(g => $"{g.Key.Conn}#{g.Key.Seq}").ToList();
            Assert.True(duplicates.Count == 0, $"forwarded more than once: {string.Join(", ", duplicates)}");
            Assert.All(arrivals, a => Assert.Equal("HTTP/2", a.Protocol));
            for (var c = 0; c < H1Connections; c++)
            {
                var conn = $"h1-{c}";
                var order = arrivals.Where(a => a.Conn == conn).Select(a => a.Seq).ToList();
                Assert.Equal(Enumerable.Range(0, H1Pipelined).Select(Text).ToList(), order);
            }

            Assert.Equal(GrpcConnections * StreamsPerConnection, arrivals.Count(a => a.ContentType == "application/grpc"));

            // The webhook: one POST for the transition from zero, with the notice's four fields.
            var webhook = JsonDocument.Parse(firstDemand).RootElement;
            Assert.Equal(["at", "cluster", "held", "oldest_wait_ms"], webhook.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
            Assert.Equal(ColdCluster, webhook.GetProperty("cluster").GetString());
            Assert.InRange(webhook.GetProperty("held").GetInt32(), 1, HeldAtOnce);
            Assert.InRange(webhook.GetProperty("oldest_wait_ms").GetInt64(), 0, 5_000);
            Assert.InRange(webhook.GetProperty("at").GetDateTimeOffset(), testStart.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
            Assert.True(autoscaler.Bodies.Count == 1, $"one webhook per transition, got {autoscaler.Bodies.Count}:\n{string.Join("\n", autoscaler.Bodies)}");

            // The control plane heard it too (GET /v1/demand), and the stats tell the story.
            var demand = await WaitForDemandAsync(api, apiPort, ColdCluster, Context);
            Assert.Equal(1, demand.GetProperty("notices").GetInt64());
            Assert.InRange(demand.GetProperty("held").GetInt32(), 1, HeldAtOnce);
            Assert.True(
                await gateway.WaitForStatAsync(Stat(ColdCluster, "demand_sent"), v => v == 2, StepTimeout),
                $"demand_sent (webhook and control plane): {await gateway.GetStatAsync(Stat(ColdCluster, "demand_sent"))}\n{Context()}");
            Assert.Equal(0, await gateway.GetStatAsync(Stat(ColdCluster, "held")));
            Assert.Equal(HeldAtOnce, await gateway.GetStatAsync(Stat(ColdCluster, "released")));
            Assert.Equal(1, await gateway.GetStatAsync(Stat(ColdCluster, "demand")));
            Assert.Equal(0, await gateway.GetStatAsync(Stat(ColdCluster, "overflow")));
            Assert.Equal(0, await gateway.GetStatAsync(Stat(ColdCluster, "timeout")));
            Assert.Equal(0, await gateway.GetStatAsync(Stat(ColdCluster, "failfast")));
            Assert.Equal(0, await gateway.GetStatAsync(Stat(ColdCluster, "demand_failed")));
            var stats = await gateway.GetAdminAsync("/stats");
            var holdTime = stats.Split('\n').Single(l => l.StartsWith($"{Stat(ColdCluster, "hold_time")}: ", StringComparison.Ordinal));
            Assert.DoesNotContain("No recorded values", holdTime, StringComparison.Ordinal);

            // Warm now: a new request is admitted at once.
            var warm = await clients.H2cAsync(0, StreamsPerConnection);
            Assert.Equal("h2c-0 10", warm);
            Assert.Equal(HeldAtOnce, await gateway.GetStatAsync(Stat(ColdCluster, "released")));
        }
        finally
        {
            if (upstream is not null)
            {
                await upstream.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task EmbeddedGateway_ServiceWithZeroInstances_OverflowTimeoutFailfastAndRouteTimeoutAnswerWithReasons()
    {
        var gatewayPort = FreePort.Next();
        var apiPort = FreePort.Next();
        using var mesh = new MeshFile(MeshYaml(gatewayPort, webhook: null));
        await using var gateway = await DataPlaneProcess.StartEmbeddedGatewayAsync(mesh.Path, apiPort);
        string Context() => $"--- mesh.yaml ---\n{mesh.Text}\n--- gateway ---\n{gateway.Transcript()}";
        await WaitUntilServingAsync(gateway, gatewayPort, [TinyCluster, BriefCluster], Context);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var url = $"http://127.0.0.1:{gatewayPort}";

        // tiny: queue depth 2, hold 3 s. Two requests are held; a third overflows at once.
        var first = SendAsync(http, $"{url}/tiny/1");
        var second = SendAsync(http, $"{url}/tiny/2");
        Assert.True(
            await gateway.WaitForStatAsync(Stat(TinyCluster, "held"), v => v == 2, StepTimeout),
            $"two requests to tiny were not held: {await gateway.GetStatAsync(Stat(TinyCluster, "held"))}\n{Context()}");
        var overflow = await SendAsync(http, $"{url}/tiny/3");
        Assert.True(
            overflow.Status == 503 && overflow.Body.Contains("activation queue full", StringComparison.Ordinal) && overflow.Body.Contains(TinyCluster, StringComparison.Ordinal),
            $"overflow: {overflow}\n{Context()}");
        Assert.True(overflow.Elapsed < TimeSpan.FromSeconds(2), $"an overflow is refused at once, not after {overflow.Elapsed}");
        Assert.Equal(1, await gateway.GetStatAsync(Stat(TinyCluster, "overflow")));

        // The held two time out after the hold timeout, each with the reason.
        foreach (var held in await Task.WhenAll(first, second))
        {
            Assert.True(
                held.Status == 503 && held.Body.Contains("within the activation hold timeout (3 s)", StringComparison.Ordinal),
                $"hold timeout: {held}\n{Context()}");
            Assert.True(held.Elapsed >= TimeSpan.FromSeconds(2.5), $"answered after {held.Elapsed}, before the 3 s hold timeout");
        }

        Assert.Equal(2, await gateway.GetStatAsync(Stat(TinyCluster, "timeout")));

        // Still cold: the next request fails fast, saying so.
        var failfast = await SendAsync(http, $"{url}/tiny/4");
        Assert.True(
            failfast.Status == 503 && failfast.Body.Contains("failing fast until an endpoint appears", StringComparison.Ordinal),
            $"failfast: {failfast}\n{Context()}");
        Assert.True(failfast.Elapsed < TimeSpan.FromSeconds(2), $"failfast answers at once, not after {failfast.Elapsed}");
        Assert.Equal(1, await gateway.GetStatAsync(Stat(TinyCluster, "failfast")));
        Assert.Equal(0, await gateway.GetStatAsync(Stat(TinyCluster, "held")));
        Assert.Equal(0, await gateway.GetStatAsync(Stat(TinyCluster, "released")));

        // brief: the route's 500 ms timeout ends a 30 s hold first, as a 504.
        var brief = await SendAsync(http, $"{url}/brief");
        Assert.True(brief.Status == 504, $"route timeout during a hold: {brief}\n{Context()}");
        Assert.InRange(brief.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(10));
        Assert.Equal(0, await gateway.GetStatAsync(Stat(BriefCluster, "held")));
        Assert.Equal(0, await gateway.GetStatAsync(Stat(BriefCluster, "timeout")));
    }

    [Fact(Timeout = 90_000)]
    public async Task Sidecar_TcpServiceWithZeroInstances_HoldsConnectionUntilAutoscalerRegistersEcho()
    {
        var echoPort = FreePort.Next();
        var cluster = $"outbound|{echoPort}||echo";
        ControlPlaneProcess? controlPlane = null;
        TcpEchoServer? echo = null;
        await using var autoscaler = await TestAutoscaler.StartAsync(async () =>
        {
            echo = TcpEchoServer.Start();
            await controlPlane!.RegisterAsync("echo", echo.Port, new Dictionary<string, string>(), "1.0.0");
        });
        try
        {
            using var mesh = new MeshFile($$"""
                services:
                  - name: echo
                    ports: [{port: {{echoPort}}, protocol: tcp}]
                    activation: {hold_timeout: 30s, webhook: "{{autoscaler.WebhookUrl}}"}
                sidecars:
                  - workload: client
                    dependencies: [echo]
                """);
            controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);
            await using var sidecar = await DataPlaneProcess.StartSidecarAsync("client-1", "client", controlPlane.XdsPort);
            string Context() => $"--- mesh.yaml ---\n{mesh.Text}\n--- sidecar ---\n{sidecar.Transcript()}\n--- {controlPlane.Transcript()}";

            // The client connects and speaks first; nothing listens behind the sidecar yet.
            using var client = await ConnectWhenListeningAsync(echoPort, Context);
            var stream = client.GetStream();
            var message = Encoding.ASCII.GetBytes("hello across a cold start\n");
            await stream.WriteAsync(message);

            await autoscaler.ScaledUp.WaitAsync(StepTimeout);
            var back = new byte[message.Length];
            using (var read = new CancellationTokenSource(StepTimeout))
            {
                await stream.ReadExactlyAsync(back, read.Token);
            }

            Assert.Equal(message, back);
            Assert.True(autoscaler.Bodies.Count == 1, $"one webhook per transition, got {autoscaler.Bodies.Count}:\n{string.Join("\n", autoscaler.Bodies)}");
            Assert.Equal(cluster, JsonDocument.Parse(autoscaler.Bodies[0]).RootElement.GetProperty("cluster").GetString());
            Assert.Equal(1, await sidecar.GetStatAsync(Stat(cluster, "released")));
            Assert.Equal(0, await sidecar.GetStatAsync(Stat(cluster, "held")));
            Assert.Equal(1, echo!.Connections);
        }
        finally
        {
            if (echo is not null)
            {
                await echo.DisposeAsync();
            }

            if (controlPlane is not null)
            {
                await controlPlane.DisposeAsync();
            }
        }
    }

    private static string MeshYaml(int gatewayPort, string? webhook)
    {
        var hook = webhook is null ? string.Empty : $", webhook: \"{webhook}\"";
        return $$$"""
            services:
              - name: cold
                ports: [{port: {{{ColdPort}}}, protocol: http2}]
                activation: {hold_timeout: 30s, queue_depth: 1000{{{hook}}}}
              - name: tiny
                ports: [{port: {{{TinyPort}}}, protocol: http}]
                activation: {hold_timeout: 3s, queue_depth: 2}
              - name: brief
                ports: [{port: {{{BriefPort}}}, protocol: http}]
                routing: {timeout: 500ms}
                activation: {hold_timeout: 30s}
            gateways:
              - name: edge
                port: {{{gatewayPort}}}
                hosts: ["*"]
                routes:
                  - match: {path: {prefix: /tiny}}
                    service: tiny
                  - match: {path: {prefix: /brief}}
                    service: brief
                  - service: cold
            """;
    }

    private static string Stat(string cluster, string name) => $"cluster.{cluster}.activation.{name}";

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Describe(Task task) => task.Exception?.GetBaseException().Message ?? task.Status.ToString();

    // Three requests written at once on one connection; the first is held, the other two wait
    // behind it, unread. The answers must come back in order, each for its own request.
    private static async Task PipelinedHttp1Async(int port, string conn)
    {
        using var http = await RawHttp.ConnectAsync(port);
        var requests = new StringBuilder();
        for (var seq = 0; seq < H1Pipelined; seq++)
        {
            requests.Append(CultureInfo.InvariantCulture, $"GET /h1/{seq} HTTP/1.1\r\nHost: cold\r\nx-conn: {conn}\r\nx-seq: {seq}\r\n\r\n");
        }

        await http.SendAsync(requests.ToString());
        for (var seq = 0; seq < H1Pipelined; seq++)
        {
            var (head, body) = await http.ReadResponseAsync(TimeSpan.FromSeconds(60));
            if (!head.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal) || body != $"{conn} {seq}")
            {
                throw new InvalidOperationException($"{conn}, answer {seq}: {head.Split("\r\n")[0]} body '{body}'");
            }
        }
    }

    private static async Task RegisterAsync(HttpClient api, int apiPort, string service, int port)
    {
        var body = $$"""{"service":"{{service}}","address":"127.0.0.1","port":{{port}},"labels":{},"version":"1.0.0","ttl_seconds":600}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await api.PutAsync($"http://127.0.0.1:{apiPort}/v1/registry/instances", content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"register {service}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<JsonElement> WaitForDemandAsync(HttpClient api, int apiPort, string cluster, Func<string> context)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var text = await api.GetStringAsync($"http://127.0.0.1:{apiPort}/v1/demand");
            foreach (var entry in JsonDocument.Parse(text).RootElement.EnumerateArray())
            {
                if (entry.GetProperty("cluster").GetString() == cluster)
                {
                    return entry.Clone();
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"GET /v1/demand does not list {cluster}: {text}\n{context()}");
            await Task.Delay(50);
        }
    }

    // Ready means configured; the listener is bound when a connection is accepted. Nothing is
    // sent to the cold service meanwhile (a probe would be held and start the demand).
    private static async Task WaitUntilServingAsync(DataPlaneProcess gateway, int port, string[] clusters, Func<string> context)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var names = await gateway.ClusterNamesAsync();
            if (clusters.All(names.Contains))
            {
                try
                {
                    using var probe = await RawHttp.ConnectAsync(port);
                    return;
                }
                catch (SocketException)
                {
                    // Not bound yet.
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"the gateway has clusters [{string.Join(", ", names)}] and its port {port} bound: not both\n{context()}");
            await Task.Delay(50);
        }
    }

    private static async Task<TcpClient> ConnectWhenListeningAsync(int port, Func<string> context)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var client = new TcpClient { NoDelay = true };
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(5));
                return client;
            }
            catch (SocketException)
            {
                client.Dispose();
            }

            Assert.True(DateTime.UtcNow < deadline, $"the sidecar never listened on {port}\n{context()}");
            await Task.Delay(50);
        }
    }

    private static async Task<Answer> SendAsync(HttpClient http, string url)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        return new Answer((int)response.StatusCode, body, Stopwatch.GetElapsedTime(started));
    }

    private sealed record Answer(int Status, string Body, TimeSpan Elapsed);

    /// <summary>h2c (prior knowledge) clients: one HttpClient, hence one HTTP/2 connection, per connection index.</summary>
    private sealed class ClientSet : IDisposable
    {
        private readonly string _url;
        private readonly HttpClient[] _h2c;
        private readonly HttpClient[] _grpc;

        public ClientSet(int port)
        {
            _url = $"http://127.0.0.1:{port}";
            _h2c = [.. Enumerable.Range(0, H2cConnections).Select(_ => Create())];
            _grpc = [.. Enumerable.Range(0, GrpcConnections).Select(_ => Create())];
        }

        public async Task<string> H2cAsync(int conn, int seq)
        {
            using var request = Request(HttpMethod.Get, $"/h2c/{seq}", $"h2c-{conn}", seq);
            using var response = await _h2c[conn].SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK || response.Version != HttpVersion.Version20 || body != $"h2c-{conn} {seq}")
            {
                throw new InvalidOperationException($"h2c-{conn}#{seq}: {(int)response.StatusCode} HTTP/{response.Version} body '{body}'");
            }

            return body;
        }

        public async Task GrpcAsync(int conn, int seq)
        {
            using var request = Request(HttpMethod.Post, "/herald.e2e.Cold/Echo", $"grpc-{conn}", seq);
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Content = new ByteArrayContent(SequenceUpstream.GrpcFrame($"hello {seq}"));
            request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
            using var response = await _grpc[conn].SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.FirstOrDefault() : null;
            var message = SequenceUpstream.ReadGrpcFrame(body);
            if (response.StatusCode != HttpStatusCode.OK || status != "0" || message != $"grpc-{conn} {seq} hello {seq}")
            {
                throw new InvalidOperationException($"grpc-{conn}#{seq}: {(int)response.StatusCode} grpc-status {status ?? "(none)"} message '{message}' ({body.Length} bytes)");
            }
        }

        public void Dispose()
        {
            foreach (var client in _h2c.Concat(_grpc))
            {
                client.Dispose();
            }
        }

        private static HttpClient Create() => new(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = false })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };

        private HttpRequestMessage Request(HttpMethod method, string path, string conn, int seq)
        {
            var request = new HttpRequestMessage(method, _url + path)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.TryAddWithoutValidation("x-conn", conn);
            request.Headers.TryAddWithoutValidation("x-seq", seq.ToString(CultureInfo.InvariantCulture));
            return request;
        }
    }
}
