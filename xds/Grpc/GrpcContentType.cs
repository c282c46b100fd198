namespace Herald.Xds.Grpc;

/// <summary><c>application/grpc</c>, optionally <c>+proto</c> (or another subtype) or with parameters.</summary>
internal static class GrpcContentType
{
    public const string Value = "application/grpc";

    public static bool IsGrpc(ReadOnlySpan<char> contentType)
    {
        if (!contentType.StartsWith(Value, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return contentType.Length == Value.Length || contentType[Value.Length] is '+' or ';';
    }
}
