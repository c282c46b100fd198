namespace Herald.Xds.ControlPlane;

/// <summary>The bounded wait behind a Consul-style blocking query, shared by the registry stores.</summary>
internal static class RegistryWaits
{
    /// <summary>Returns when <paramref name="changed"/> completes or <paramref name="maxWait"/> passes on <paramref name="time"/>.</summary>
    public static async Task WaitAsync(Task changed, TimeSpan maxWait, TimeProvider time, CancellationToken cancellationToken)
    {
        if (maxWait <= TimeSpan.Zero)
        {
            return;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(maxWait, time, cts.Token);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
