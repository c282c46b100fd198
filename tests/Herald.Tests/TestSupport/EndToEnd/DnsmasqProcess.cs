using System.Net;
using Herald.Xds.ControlPlane.Dns;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A real DNS server (Debian's dnsmasq) on a free 127.0.0.1 port answering only the records its
/// flags give (<c>--no-resolv --no-hosts</c>), with a 1 s TTL on them. It can be started again on
/// the same port with other records; killed on dispose.
/// </summary>
public sealed class DnsmasqProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private ChildProcess? _child;

    private DnsmasqProcess(int port)
    {
        Port = port;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>Starts dnsmasq with <paramref name="records"/> (flags such as <c>--host-record=a.test,127.0.0.1</c>).</summary>
    public static async Task<DnsmasqProcess> StartAsync(params string[] records)
    {
        for (var attempt = 1; ; attempt++)
        {
            var dnsmasq = new DnsmasqProcess(FreePort.Next());
            try
            {
                await dnsmasq.StartProcessAsync(records);
                return dnsmasq;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await dnsmasq.DisposeAsync();
            }
        }
    }

    /// <summary>Stops dnsmasq and starts it on the same port with <paramref name="records"/> instead.</summary>
    public async Task RestartAsync(params string[] records)
    {
        if (_child is not null)
        {
            await _child.DisposeAsync();
        }

        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                await StartProcessAsync(records);
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public string Transcript() => _child is null ? "dnsmasq: not started" : $"dnsmasq: {_child.Description}\n{_child.Transcript()}";

    public async ValueTask DisposeAsync()
    {
        if (_child is not null)
        {
            await _child.DisposeAsync();
        }
    }

    private async Task StartProcessAsync(string[] records)
    {
        _child = ChildProcess.Start(Tools.Dnsmasq, [
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-daemon",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            $"--port={Port}",
            "--local-ttl=1",
            "--pid-file=",
            "--log-facility=-",
            "--user=root",
            "--local=/ready.herald.test/",
            .. records,
        ]);

        // Ready when it answers (anything, even an empty answer) over UDP.
        var client = new DnsClient(EndPoint, TimeSpan.FromMilliseconds(300));
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_child.HasExited)
            {
                throw new InvalidOperationException($"dnsmasq exited at start\n{Transcript()}");
            }

            try
            {
                await client.QueryAsync("ready.herald.test", DnsClient.TypeA, CancellationToken.None);
                return;
            }
            catch (DnsException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"dnsmasq did not answer within {StartTimeout.TotalSeconds} s\n{Transcript()}");
            }

            await Task.Delay(50);
        }
    }
}
