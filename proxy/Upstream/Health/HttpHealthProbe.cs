using System.Net.Sockets;
using System.Text;

namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// <c>http_health_check</c>: an HTTP/1.1 request on a fresh connection (<c>Connection: close</c>),
/// judged by the response's status line alone.
/// </summary>
internal sealed class HttpHealthProbe : IHealthProbe
{
    private const int MaxStatusLineBytes = 8 * 1024;

    private readonly HealthCheckConfig _config;
    private readonly byte[] _request;

    public HttpHealthProbe(HealthCheckConfig config, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        var host = string.IsNullOrEmpty(config.HttpHost) ? clusterName : config.HttpHost;
        _request = Encoding.ASCII.GetBytes(
            $"{config.HttpMethod} {config.HttpPath} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Herald/HC\r\nConnection: close\r\n\r\n");
    }

    public async Task<HealthCheckOutcome> CheckAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var socket = new Socket(endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.Address, cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(_request, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            var buffer = new byte[MaxStatusLineBytes];
            var filled = 0;
            while (filled < buffer.Length)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
                var lineEnd = buffer.AsSpan(0, filled).IndexOf((byte)'\n');
                if (lineEnd >= 0)
                {
                    return TryParseStatus(buffer.AsSpan(0, lineEnd), out var status)
                        ? (_config.IsExpectedStatus(status) ? HealthCheckOutcome.Healthy : HealthCheckOutcome.Unhealthy)
                        : HealthCheckOutcome.NetworkFailure;
                }
            }

            return HealthCheckOutcome.NetworkFailure;
        }
        catch (SocketException)
        {
            return HealthCheckOutcome.NetworkFailure;
        }
    }

    public void Dispose()
    {
    }

    /// <summary>"HTTP/1.1 200 OK" to 200.</summary>
    internal static bool TryParseStatus(ReadOnlySpan<byte> line, out int status)
    {
        status = 0;
        if (!line.StartsWith("HTTP/1."u8) || line.Length < 12 || line[8] != (byte)' ')
        {
            return false;
        }

        var code = line.Slice(9, 3);
        foreach (var digit in code)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            status = (status * 10) + (digit - '0');
        }

        return status is >= 100 and <= 599;
    }
}
