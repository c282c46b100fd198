using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// <c>grpc_health_check</c>: a unary <c>grpc.health.v1.Health/Check</c> over h2c (HTTP/2 with
/// prior knowledge). SERVING is healthy; any other status is an unhealthy answer; a transport
/// error or a non-OK grpc-status is a network failure. The two tiny messages are encoded by
/// hand: HealthCheckRequest { string service = 1; }, HealthCheckResponse { enum status = 1; }.
/// </summary>
internal sealed class GrpcHealthProbe : IHealthProbe
{
    private const int MaxResponseBytes = 4 * 1024;
    private const int Serving = 1;

    private readonly HttpMessageInvoker _invoker;
    private readonly byte[] _requestFrame;
    private readonly string _authority;

    public GrpcHealthProbe(HealthCheckConfig config, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(config);
        _authority = string.IsNullOrEmpty(config.GrpcAuthority) ? clusterName : config.GrpcAuthority;
        var service = Encoding.UTF8.GetBytes(config.GrpcServiceName);
        var message = new List<byte>();
        if (service.Length > 0)
        {
            message.Add(0x0A); // field 1, length-delimited
            WriteVarint(message, (ulong)service.Length);
            message.AddRange(service);
        }

        _requestFrame = new byte[5 + message.Count];
        BinaryPrimitives.WriteUInt32BigEndian(_requestFrame.AsSpan(1), (uint)message.Count);
        message.CopyTo(_requestFrame, 5);
        _invoker = new HttpMessageInvoker(
            new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            },
            disposeHandler: true);
    }

    public async Task<HealthCheckOutcome> CheckAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://{endpoint.AddressText}/grpc.health.v1.Health/Check"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(_requestFrame),
        };
        request.Headers.Host = _authority;
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        try
        {
            using var response = await _invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return HealthCheckOutcome.NetworkFailure;
            }

            var body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
            var grpcStatus = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
            if (grpcStatus != "0" || body is null)
            {
                return HealthCheckOutcome.NetworkFailure;
            }

            return TryParseStatus(body, out var status)
                ? (status == Serving ? HealthCheckOutcome.Healthy : HealthCheckOutcome.Unhealthy)
                : HealthCheckOutcome.NetworkFailure;
        }
        catch (HttpRequestException)
        {
            return HealthCheckOutcome.NetworkFailure;
        }
        catch (IOException)
        {
            return HealthCheckOutcome.NetworkFailure;
        }
    }

    public void Dispose() => _invoker.Dispose();

    /// <summary>The status of one framed HealthCheckResponse (UNKNOWN, 0, when the field is absent).</summary>
    internal static bool TryParseStatus(ReadOnlySpan<byte> frame, out int status)
    {
        status = 0;
        if (frame.Length < 5 || frame[0] != 0)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(frame[1..]);
        if (length != frame.Length - 5)
        {
            return false;
        }

        var message = frame[5..];
        while (!message.IsEmpty)
        {
            if (!TryReadVarint(ref message, out var tag))
            {
                return false;
            }

            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(ref message, out var value))
                    {
                        return false;
                    }

                    if (tag >> 3 == 1)
                    {
                        status = (int)value;
                    }

                    break;
                case 2:
                    if (!TryReadVarint(ref message, out var size) || size > (ulong)message.Length)
                    {
                        return false;
                    }

                    message = message[(int)size..];
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxResponseBytes];
            var filled = 0;
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer[..filled];
                }

                filled += read;
                if (filled == buffer.Length)
                {
                    return null;
                }
            }
        }
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && !data.IsEmpty; shift += 7)
        {
            var b = data[0];
            data = data[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }
}
