namespace Herald.Proxy.Upstream;

/// <summary>
/// The outcome of one attempt on one endpoint, known once its response head arrived or
/// it failed: what outlier detection and retries both judge.
/// </summary>
internal readonly record struct UpstreamAttemptResult(UpstreamFailureKind Failure, int StatusCode)
{
    public static UpstreamAttemptResult Response(int statusCode) => new(UpstreamFailureKind.None, statusCode);

    public static UpstreamAttemptResult Failed(UpstreamFailureKind failure) => new(failure, 0);

    public bool IsResponse => Failure == UpstreamFailureKind.None;
}
