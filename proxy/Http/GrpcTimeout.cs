namespace Herald.Proxy.Http;

/// <summary>The <c>grpc-timeout</c> request header as the forwarder sees it: ASCII bytes, parsed by Herald's gRPC layer.</summary>
internal static class GrpcTimeout
{
    /// <summary>False for a missing unit, a non-digit, more than 8 digits or an unknown unit: such a header is ignored, as Envoy does.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out TimeSpan timeout)
    {
        timeout = TimeSpan.Zero;
        if (value.Length is < 2 or > 9)
        {
            return false;
        }

        Span<char> text = stackalloc char[value.Length];
        for (var i = 0; i < value.Length; i++)
        {
            text[i] = (char)value[i];
        }

        return Xds.Grpc.GrpcTimeout.TryParse(text, out timeout);
    }
}
