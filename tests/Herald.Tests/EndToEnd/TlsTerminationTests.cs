using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Herald.Tests.TestSupport.Tls;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Herald terminating TLS at the edge, checked with curl, openssl s_client and .NET's own TLS client.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TlsTerminationTests
{
    [Fact(Timeout = 120_000)]
    public async Task TwoServerNames_CurlAndOpenssl_EachNameGetsItsOwnCertificate()
    {
        using var certificates = new TestCertificates();
        var a = certificates.Issue("a", ["a.test"]);
        var b = certificates.Issue("b", ["b.test"]);
        await using var upstream = await RecordingUpstream.StartAsync("web");
        await using var herald = await HeraldProcess.StartAsync(() => SniBootstrap(upstream.Port, ("a.test", a), ("b.test", b)));
        var port = herald.ListenerPort("https");

        foreach (var name in new[] { "a.test", "b.test" })
        {
            var curl = await Curl.RunAsync("--resolve", $"{name}:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://{name}:{port}/hello");
            Assert.True(curl.ExitCode == 0, curl.ToString());
            Assert.Equal("web", curl.Stdout);
        }

        var openssl = await OpensslClient.HandshakeAsync(port, "b.test", certificates.CaPath);
        Assert.True(openssl.ExitCode == 0, openssl.ToString());
        Assert.Contains("CN = b.test", openssl.Stdout, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", openssl.Stdout, StringComparison.Ordinal);
        Assert.Equal(b.Serial, await ServedSerialAsync(port, "b.test"));
        Assert.Equal(a.Serial, await ServedSerialAsync(port, "a.test"));

        // The upstream hears that the client spoke TLS.
        Assert.All(upstream.Requests, r => Assert.Equal("https", r.Header("x-forwarded-proto")));
        var stats = await herald.Admin.GetStringAsync("stats");
        Assert.Matches(@$"listener\.127\.0\.0\.1_{port}\.ssl\.handshake: [3-9]", stats);
    }

    [Fact(Timeout = 120_000)]
    public async Task AlpnH2_CurlHttp2AndOpenssl_SpeakHttp2OverTls()
    {
        using var certificates = new TestCertificates();
        var a = certificates.Issue("a", ["a.test"]);
        await using var upstream = await RecordingUpstream.StartAsync("web");
        await using var herald = await HeraldProcess.StartAsync(() => SniBootstrap(upstream.Port, ("a.test", a)));
        var port = herald.ListenerPort("https");

        var h2 = await Curl.RunAsync("--http2", "-w", " %{http_version}", "--resolve", $"a.test:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://a.test:{port}/x");
        var h1 = await Curl.RunAsync("--http1.1", "-w", " %{http_version}", "--resolve", $"a.test:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://a.test:{port}/x");
        var openssl = await OpensslClient.HandshakeAsync(port, "a.test", certificates.CaPath, alpn: "h2");

        Assert.True(h2.ExitCode == 0, h2.ToString());
        Assert.Equal("web 2", h2.Stdout);
        Assert.True(h1.ExitCode == 0, h1.ToString());
        Assert.Equal("web 1.1", h1.Stdout);
        Assert.Contains("ALPN protocol: h2", openssl.Stdout, StringComparison.Ordinal);
        Assert.All(upstream.Requests, r => Assert.Equal("https", r.Header("x-forwarded-proto")));
    }

    [Fact(Timeout = 120_000)]
    public async Task CertificateFileReplaced_UnderLoad_NewHandshakesGetTheNewCertificateAndNoRequestFails()
    {
        using var certificates = new TestCertificates();
        var first = certificates.Issue("a", ["a.test"]);
        var second = certificates.Issue("a-next", ["a.test"]);
        await using var upstream = await RecordingUpstream.StartAsync("web");
        await using var herald = await HeraldProcess.StartAsync(() => SniBootstrap(upstream.Port, ("a.test", first)));
        var port = herald.ListenerPort("https");

        var serials = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        var requests = 0;
        using var stop = new CancellationTokenSource();
        var loops = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // A new connection per request: every request is a new handshake.
                using var client = TrustingClient(certificates.Ca, serials);
                try
                {
                    using var response = await client.GetAsync(new Uri($"https://a.test:{port}/load"));
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"status {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue(e.ToString());
                }

                Interlocked.Increment(ref requests);
            }
        })).ToArray();

        await WaitUntilAsync(() => Volatile.Read(ref requests) > 20, "requests flow before the rotation");
        second.Write(first.CertificatePath, first.KeyPath);
        await WaitUntilAsync(() => serials.ContainsKey(second.Serial), "a handshake presents the new certificate");
        var afterRotation = Volatile.Read(ref requests);
        await WaitUntilAsync(() => Volatile.Read(ref requests) > afterRotation + 20, "requests keep flowing after the rotation");
        await stop.CancelAsync();
        await Task.WhenAll(loops);

        Assert.True(failures.IsEmpty, $"{failures.Count} of {requests} requests failed: {string.Join("\n", failures.Take(3))}\nherald's stderr:\n{herald.Stderr}");
        Assert.True(serials.ContainsKey(first.Serial), "no handshake presented the first certificate");
        Assert.Equal(second.Serial, await ServedSerialAsync(port, "a.test"));
    }

    [Fact(Timeout = 120_000)]
    public async Task PassthroughByServerName_TcpProxyToTlsUpstream_ClientSeesTheUpstreamsCertificate()
    {
        using var certificates = new TestCertificates();
        var edge = certificates.Issue("edge", ["edge.test"]);
        var inner = certificates.Issue("inner", ["inner.test"]);
        await using var backend = await TlsUpstream.StartAsync("inner-backend", inner.Certificate);
        await using var web = await RecordingUpstream.StartAsync("web");
        await using var herald = await HeraldProcess.StartAsync(() =>
        {
            var builder = SniBootstrap(web.Port, ("edge.test", edge));
            builder.Cluster("inner", backend.Port);
            return builder.EditListener("https", listener =>
            {
                ((JsonArray)listener["filter_chains"]!).Add(new JsonObject
                {
                    ["filter_chain_match"] = new JsonObject { ["server_names"] = new JsonArray("inner.test") },
                    ["filters"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "envoy.filters.network.tcp_proxy",
                        ["typed_config"] = new JsonObject { ["@type"] = BootstrapBuilder.TcpProxyType, ["stat_prefix"] = "passthrough", ["cluster"] = "inner" },
                    }),
                });
            });
        });
        var port = herald.ListenerPort("https");

        var passed = await Curl.RunAsync("--http2", "--resolve", $"inner.test:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://inner.test:{port}/");
        var terminated = await Curl.RunAsync("--resolve", $"edge.test:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://edge.test:{port}/");

        Assert.True(passed.ExitCode == 0, passed.ToString());
        Assert.Equal("inner-backend HTTP/2 https", passed.Stdout);
        Assert.Equal(inner.Serial, await ServedSerialAsync(port, "inner.test"));
        Assert.True(terminated.ExitCode == 0, terminated.ToString());
        Assert.Equal("web", terminated.Stdout);
        Assert.Equal(edge.Serial, await ServedSerialAsync(port, "edge.test"));
    }

    [Fact(Timeout = 120_000)]
    public async Task RequireTlsAll_CleartextGets301ToHttps_TlsRequestIsServed()
    {
        using var certificates = new TestCertificates();
        var a = certificates.Issue("a", ["a.test"]);
        await using var upstream = await RecordingUpstream.StartAsync("web");
        await using var herald = await HeraldProcess.StartAsync(() => SniBootstrap(upstream.Port, ("a.test", a))
            .HttpListener("http", o => o.Route("/", "web"))
            .EditListener("http", RequireTls)
            .EditListener("https", RequireTls));
        var port = herald.ListenerPort("https");

        var (cleartext, headers) = await Curl.RunWithHeaderDumpAsync("-H", "Host: a.test", $"{herald.ListenerUrl("http")}/some/path?q=1");
        var secure = await Curl.RunAsync("--resolve", $"a.test:{port}:127.0.0.1", "--cacert", certificates.CaPath, $"https://a.test:{port}/some/path");

        Assert.True(cleartext.ExitCode == 0, cleartext.ToString());
        Assert.StartsWith("HTTP/1.1 301", headers, StringComparison.Ordinal);
        Assert.Contains("location: https://a.test/some/path?q=1", headers, StringComparison.OrdinalIgnoreCase);
        Assert.True(secure.ExitCode == 0, secure.ToString());
        Assert.Equal("web", secure.Stdout);
        Assert.Single(upstream.Requests);

        static void RequireTls(JsonObject listener)
        {
            foreach (var chain in (JsonArray)listener["filter_chains"]!)
            {
                var hosts = (JsonArray)chain!["filters"]![0]!["typed_config"]!["route_config"]!["virtual_hosts"]!;
                hosts[0]!["require_tls"] = "ALL";
            }
        }
    }

    /// <summary>A listener "https" with tls_inspector and one TLS chain per server name, all routing to cluster "web".</summary>
    internal static BootstrapBuilder SniBootstrap(int upstreamPort, params (string Name, TestCertificates.Leaf Leaf)[] names) =>
        new BootstrapBuilder()
            .HttpListener("https", o => o.Route("/", "web"))
            .Cluster("web", upstreamPort)
            .EditListener("https", listener =>
            {
                var template = (JsonObject)listener["filter_chains"]![0]!;
                var chains = new JsonArray();
                foreach (var (name, leaf) in names)
                {
                    var chain = (JsonObject)template.DeepClone();
                    chain["filter_chain_match"] = new JsonObject { ["server_names"] = new JsonArray(name) };
                    chain["transport_socket"] = TlsConfigJson.Downstream(leaf.CertificatePath, leaf.KeyPath, "h2", "http/1.1");
                    chains.Add(chain);
                }

                listener["filter_chains"] = chains;
                listener["listener_filters"] = TlsConfigJson.TlsInspector();
            });

    /// <summary>The serial of the certificate served for <paramref name="serverName"/> (one handshake by .NET's client).</summary>
    internal static async Task<string> ServedSerialAsync(int port, string serverName)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            // Only the serial is read; trust is checked by the curl, openssl and load-loop clients.
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
        });
        return ((X509Certificate2)ssl.RemoteCertificate!).SerialNumber;
    }

    private static HttpClient TrustingClient(X509Certificate2 ca, ConcurrentDictionary<string, int> serials)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, context.DnsEndPoint.Port, token);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is not X509Certificate2 leaf)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    var trusted = chain.Build(leaf) && leaf.MatchesHostname("a.test");
                    serials.AddOrUpdate(leaf.SerialNumber, 1, (_, n) => n + 1);
                    return trusted;
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting until {what}");
            }

            await Task.Delay(20);
        }
    }
}
