namespace Herald.Xds.Grpc;

/// <summary>Per-call options of <see cref="GrpcClient"/>.</summary>
public readonly record struct GrpcCallOptions
{
    /// <summary>
    /// Request metadata (lowercase ASCII keys; keys ending in <c>-bin</c> carry base64 values the
    /// caller encodes). Reserved keys (<c>grpc-*</c>, <c>content-type</c>, <c>te</c>, pseudo-headers) are refused.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Metadata { get; init; }

    /// <summary>Time the call may take; sent as <c>grpc-timeout</c> and enforced locally.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Cancels the call: the HTTP/2 stream is reset and the call ends with CANCELLED.</summary>
    public CancellationToken CancellationToken { get; init; }
}
