using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>
/// Graceful drain of a real herald process: SIGTERM, <c>/drain_listeners</c> and
/// <c>/healthcheck/fail</c>, with long requests in flight from real clients (raw HTTP/1.1
/// sockets and nghttp over h2c) to a real Kestrel upstream that holds its answers.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DrainTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 120_000)]
    public async Task Sigterm_LongRequestsInFlightOverHttp1AndH2_CompleteThenProcessExitsBeforeDeadline()
    {
        await using var upstream = await HeldUpstream.StartAsync();
        await using var herald = await HeraldProcess.StartAsync(() => Bootstrap(upstream), ["--drain-time-s", "60"]);
        var port = herald.ListenerPort("ingress");

        // An idle keep-alive connection: served once, waiting for its next request.
        using var idle = await RawHttp.ConnectAsync(port);
        await idle.SendAsync("GET /warm HTTP/1.1\r\nHost: a\r\n\r\n");
        var (warmHead, _) = await idle.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 200", warmHead, StringComparison.Ordinal);
        Assert.DoesNotContain("connection: close", warmHead, StringComparison.OrdinalIgnoreCase);

        using var http1 = await upstream.SendHeldRequestAsync(port, Wait);
        var h2 = ProcessRunner.RunAsync(Tools.Nghttp, ["-v", "--no-dep", $"http://127.0.0.1:{port}/slow/h2"], TimeSpan.FromSeconds(60));
        await upstream.WaitForArrivalsAsync(1, Wait);

        var clock = Stopwatch.StartNew();
        await herald.TerminateAsync();
        await WaitForRefusedAsync(port);
        Assert.True((await idle.ReadToCloseAsync(Wait)).Closed, "the idle keep-alive connection stays open during the drain");
        await AssertReadyAsync(herald, HttpStatusCode.ServiceUnavailable, "DRAINING");
        // The idle HTTP/1.1 connection and the HTTP/2 one (GOAWAY) so far.
        Assert.Equal(2, await herald.GetStatAsync("http.ingress_http.downstream_cx_drain_close"));

        upstream.Release();
        await AssertClosingResponseAsync(http1, "held HTTP/1.1");
        var nghttp = await h2;
        Assert.True(nghttp.ExitCode == 0, nghttp.ToString() + herald.Transcript());
        Assert.Contains("recv GOAWAY frame", nghttp.Stdout, StringComparison.Ordinal);
        Assert.Contains(":status: 200", nghttp.Stdout, StringComparison.Ordinal);
        Assert.Contains("held HTTP/1.1", nghttp.Stdout, StringComparison.Ordinal);

        var exit = await herald.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, $"exit code {exit}\n{herald.Transcript()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"herald took {clock.Elapsed} to exit (drain deadline 60 s)");
        Assert.Contains("herald: draining listeners (up to 60 s)", herald.Stdout, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Sigterm_RequestLongerThanDrainTime_IsCutAndProcessExitsAtDeadline()
    {
        await using var upstream = await HeldUpstream.StartAsync();
        await using var herald = await HeraldProcess.StartAsync(() => Bootstrap(upstream), ["--drain-time-s", "2"]);
        using var http1 = await upstream.SendHeldRequestAsync(herald.ListenerPort("ingress"), Wait);

        var clock = Stopwatch.StartNew();
        await herald.TerminateAsync();
        var exit = await herald.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exit == 0, $"exit code {exit}\n{herald.Transcript()}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"herald exited after {clock.Elapsed}, before the 2 s drain deadline");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"herald took {clock.Elapsed} to exit after a 2 s drain deadline");
        var (text, closed) = await http1.ReadToCloseAsync(Wait);
        Assert.True(closed, "the cut connection stays open");
        Assert.DoesNotContain("200", text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task HealthcheckFail_FlipsReadyTo503UntilHealthcheckOk()
    {
        await using var upstream = await HeldUpstream.StartAsync();
        await using var herald = await HeraldProcess.StartAsync(() => Bootstrap(upstream));
        Assert.Equal(1, await herald.GetStatAsync("server.live"));
        Assert.Equal(0, await herald.GetStatAsync("server.state"));

        using (var fail = await herald.Admin.PostAsync("healthcheck/fail", null))
        {
            Assert.Equal(HttpStatusCode.OK, fail.StatusCode);
        }

        await AssertReadyAsync(herald, HttpStatusCode.ServiceUnavailable, "DRAINING");
        Assert.Equal(0, await herald.GetStatAsync("server.live"));
        Assert.Equal(1, await herald.GetStatAsync("server.state"));
        Assert.Contains("\"state\":\"DRAINING\"", await herald.GetAdminAsync("/server_info"), StringComparison.Ordinal);
        using (var response = await TestHttp.CreateClient().GetAsync($"{herald.ListenerUrl("ingress")}/still-serving"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var get = await herald.Admin.GetAsync("healthcheck/fail"))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        }

        using (var ok = await herald.Admin.PostAsync("healthcheck/ok", null))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await AssertReadyAsync(herald, HttpStatusCode.OK, "LIVE");
        Assert.Equal(1, await herald.GetStatAsync("server.live"));
    }

    [Fact(Timeout = 120_000)]
    public async Task DrainListenersGraceful_InFlightRequestFinishes_ListenerRefusesAndProcessKeepsRunning()
    {
        await using var upstream = await HeldUpstream.StartAsync();
        await using var herald = await HeraldProcess.StartAsync(() => Bootstrap(upstream), ["--drain-time-s", "60"]);
        var port = herald.ListenerPort("ingress");
        using var http1 = await upstream.SendHeldRequestAsync(port, Wait);

        using (var drain = await herald.Admin.PostAsync("drain_listeners?graceful", null))
        {
            Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        }

        await WaitForRefusedAsync(port);
        Assert.Equal(1, await herald.WaitForStatAsync("listener_manager.total_listeners_draining", v => v == 1));

        // A probe of WaitForRefusedAsync accepted just before the listener closed is closed by
        // the client; Herald counts it down when it sees the FIN, so wait for that.
        Assert.Equal(1, await herald.WaitForStatAsync("server.total_connections", v => v == 1, Wait));
        await AssertReadyAsync(herald, HttpStatusCode.ServiceUnavailable, "DRAINING");

        upstream.Release();
        await AssertClosingResponseAsync(http1, "held HTTP/1.1");
        Assert.Equal(0, await herald.WaitForStatAsync("listener_manager.total_listeners_draining", v => v == 0, Wait));
        Assert.Equal(0, await herald.GetStatAsync("server.total_connections"));
        Assert.False(herald.HasExited, "drain_listeners stopped the process\n" + herald.Transcript());
    }

    private static async Task AssertClosingResponseAsync(RawHttp connection, string expectedBody)
    {
        var (head, body) = await connection.ReadResponseAsync(Wait);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("connection: close", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(expectedBody, body);
        Assert.True((await connection.ReadToCloseAsync(Wait)).Closed, "herald keeps the HTTP/1.1 connection open after Connection: close");
    }

    private static async Task AssertReadyAsync(HeraldProcess herald, HttpStatusCode status, string state)
    {
        using var ready = await herald.Admin.GetAsync("ready");
        Assert.Equal(status, ready.StatusCode);
        Assert.Equal(state + "\n", await ready.Content.ReadAsStringAsync());
    }

    private static async Task WaitForRefusedAsync(int port)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"127.0.0.1:{port} still accepts connections {Wait} after the drain began");
            await Task.Delay(20);
        }
    }

    private static BootstrapBuilder Bootstrap(HeldUpstream upstream) => new BootstrapBuilder()
        .HttpListener("ingress", l => l.Route("/", "held"))
        .Cluster("held", upstream.Port);
}
