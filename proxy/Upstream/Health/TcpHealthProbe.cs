using System.Net.Sockets;

namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// <c>tcp_health_check</c>: connect; then, if configured, send a payload and wait until every
/// expected block has arrived, in order (not necessarily contiguous). Connect-only when both
/// payloads are empty.
/// </summary>
internal sealed class TcpHealthProbe(HealthCheckConfig config) : IHealthProbe
{
    public async Task<HealthCheckOutcome> CheckAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var socket = new Socket(endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.Address, cancellationToken).ConfigureAwait(false);
            if (!config.TcpSend.IsEmpty)
            {
                await socket.SendAsync(config.TcpSend.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            if (config.TcpReceive.IsEmpty)
            {
                return HealthCheckOutcome.Healthy;
            }

            var buffer = new byte[HealthCheckConfig.MaxPayloadBytes];
            var filled = 0;
            while (filled < buffer.Length)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return HealthCheckOutcome.Unhealthy;
                }

                filled += read;
                if (ContainsInOrder(buffer.AsSpan(0, filled), config.TcpReceive))
                {
                    return HealthCheckOutcome.Healthy;
                }
            }

            return HealthCheckOutcome.Unhealthy;
        }
        catch (SocketException)
        {
            return HealthCheckOutcome.NetworkFailure;
        }
    }

    public void Dispose()
    {
    }

    internal static bool ContainsInOrder(ReadOnlySpan<byte> data, System.Collections.Immutable.ImmutableArray<System.Collections.Immutable.ImmutableArray<byte>> blocks)
    {
        foreach (var block in blocks)
        {
            var at = data.IndexOf(block.AsSpan());
            if (at < 0)
            {
                return false;
            }

            data = data[(at + block.Length)..];
        }

        return true;
    }
}
