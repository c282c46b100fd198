using System.Net;
using System.Text.Json;
using Envoy.Config.Bootstrap.V3;
using Herald.Proxy.Admin;
using Herald.Proxy.Observability.Stats;
using Xunit;

namespace Herald.Tests.Admin;

public sealed class AdminServerTests : IAsyncLifetime
{
    private readonly StatsStore _stats = new();
    private readonly TaskCompletionSource _quit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient _client = new();
    private volatile bool _ready;
    private volatile bool _healthCheckFailed;
    private readonly List<bool> _drains = [];
    private AdminServer? _server;

    public async Task InitializeAsync()
    {
        var context = new AdminContext
        {
            Stats = _stats,
            IsReady = () => _ready,
            State = () => !_ready ? Herald.Proxy.ServerState.PreInitializing : _healthCheckFailed ? Herald.Proxy.ServerState.Draining : Herald.Proxy.ServerState.Live,
            SetHealthCheckFailed = failed => _healthCheckFailed = failed,
            DrainListeners = inboundOnly =>
            {
                lock (_drains)
                {
                    _drains.Add(inboundOnly);
                }

                return Task.CompletedTask;
            },
            ConfigDump = ConfigDumpRendererTests.SampleView,
            Clusters = () => [new ClusterView("api", [new EndpointView("10.0.0.1:80", 1, 0, 3, Healthy: true)])],
            OnQuitQuitQuit = _ =>
            {
                _quit.TrySetResult();
                return Task.CompletedTask;
            },
        };
        _server = await AdminServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), context, CancellationToken.None);
        _client.BaseAddress = new Uri($"http://127.0.0.1:{_server.BoundAddress.Port}");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public void BoundAddress_PortZeroAsked_ReportsTheRealPort()
    {
        Assert.Equal(IPAddress.Loopback, _server!.BoundAddress.Address);
        Assert.NotEqual(0, _server.BoundAddress.Port);
    }

    [Fact]
    public async Task Ready_FlipsFromPreInitializingToLive()
    {
        var before = await _client.GetAsync("/ready");
        var beforeBody = await before.Content.ReadAsStringAsync();
        _ready = true;
        var after = await _client.GetAsync("/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("PRE_INITIALIZING\n", beforeBody);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("LIVE\n", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HealthcheckFailThenOk_ReadyAnswersDrainingThenLive()
    {
        _ready = true;

        using var fail = await _client.PostAsync("/healthcheck/fail", null);
        using var failed = await _client.GetAsync("/ready");
        var failedBody = await failed.Content.ReadAsStringAsync();
        var info = await _client.GetStringAsync("/server_info");
        using var ok = await _client.PostAsync("/healthcheck/ok", null);
        using var live = await _client.GetAsync("/ready");

        Assert.Equal(HttpStatusCode.OK, fail.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("DRAINING\n", failedBody);
        Assert.Equal("DRAINING", JsonDocument.Parse(info).RootElement.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Theory]
    [InlineData("/drain_listeners", false)]
    [InlineData("/drain_listeners?graceful", false)]
    [InlineData("/drain_listeners?graceful&inboundonly", true)]
    public async Task DrainListeners_Post_StartsADrainOfTheAskedListeners(string path, bool inboundOnly)
    {
        using var get = await _client.GetAsync(path);
        using var post = await _client.PostAsync(path, null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal("OK\n", await post.Content.ReadAsStringAsync());
        lock (_drains)
        {
            Assert.Equal([inboundOnly], _drains);
        }
    }

    [Fact]
    public async Task Stats_Read_RuntimeMemoryAndJitGaugesCurrent()
    {
        var before = GC.GetTotalAllocatedBytes(precise: false);

        var text = await _client.GetStringAsync("/stats?filter=%5E(runtime%7Cserver%5C.memory)");

        var values = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(": "))
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(["runtime.allocated_bytes", "runtime.gc_collections", "runtime.jit_compiled_methods", "runtime.jit_time_ms", "server.memory_allocated", "server.memory_heap_size"], values.Keys.Order());
        Assert.True(values["runtime.jit_compiled_methods"] > 0, "this very request's handlers were JIT-compiled");
        Assert.True(values["runtime.allocated_bytes"] >= before, $"allocated {values["runtime.allocated_bytes"]} < {before} read before the request");
        Assert.True(values["server.memory_allocated"] > 0);
        Assert.True(values["server.memory_heap_size"] >= values["server.memory_allocated"] / 2);
    }

    [Fact]
    public async Task Stats_TextAndPrometheusAndJson_AnswerOverHttp()
    {
        _stats.Counter(StatKey.Cluster("a", "upstream_rq_total")).Add(7);
        _stats.Counter(StatKey.Cluster("b", "upstream_rq_total"));

        var text = await _client.GetStringAsync("/stats?usedonly");
        var prometheus = await _client.GetAsync("/stats/prometheus?filter=cluster%5C.a%5C.");
        var json = await _client.GetStringAsync("/stats?format=json&filter=rq_total");

        Assert.Equal("cluster.a.upstream_rq_total: 7\n", string.Concat(text.Split('\n').Where(line => line.StartsWith("cluster.", StringComparison.Ordinal)).Select(line => line + "\n")));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", prometheus.Content.Headers.ContentType!.ToString());
        Assert.Equal(
            "# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name=\"a\"} 7\n\n",
            await prometheus.Content.ReadAsStringAsync());
        using var document = JsonDocument.Parse(json);
        Assert.Equal(2, document.RootElement.GetProperty("stats").GetArrayLength());
    }

    [Fact]
    public async Task Stats_InvalidFilter_Answers400()
    {
        var response = await _client.GetAsync("/stats?filter=%28");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ConfigDump_AnswersJsonWithTheBootstrapDump()
    {
        var response = await _client.GetAsync("/config_dump");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\"", body, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(body);
    }

    [Fact]
    public async Task Clusters_AnswersEnvoyText()
    {
        var body = await _client.GetStringAsync("/clusters");

        Assert.Contains("api::10.0.0.1:80::rq_total::3\n", body, StringComparison.Ordinal);
        Assert.Contains("api::10.0.0.1:80::health_flags::healthy\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerInfo_ReportsState()
    {
        _ready = true;
        using var document = JsonDocument.Parse(await _client.GetStringAsync("/server_info"));

        Assert.Equal("LIVE", document.RootElement.GetProperty("state").GetString());
        Assert.EndsWith("s", document.RootElement.GetProperty("uptime_current_epoch").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_Answers404()
    {
        var response = await _client.GetAsync("/no_such_thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task QuitQuitQuit_Get_IsRefusedAndDoesNotQuit()
    {
        var response = await _client.GetAsync("/quitquitquit");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.False(_quit.Task.IsCompleted);
    }

    [Fact]
    public async Task QuitQuitQuit_Post_AnswersOkThenCallsTheCallback()
    {
        var response = await _client.PostAsync("/quitquitquit", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OK\n", await response.Content.ReadAsStringAsync());
        await _quit.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
