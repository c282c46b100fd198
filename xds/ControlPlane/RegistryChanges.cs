namespace Herald.Xds.ControlPlane;

/// <summary>
/// What every registry store keeps the same way: the change index, the cached view (its own
/// instances plus the imported ones), and the signal blocking queries wait on. Guarded by the
/// owner's lock: methods named <c>...Locked</c> are called while holding it.
/// </summary>
internal sealed class RegistryChanges(Lock ownerLock, TimeProvider time)
{
    private readonly ImportedInstances _imported = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RegistryView? _view;
    private long _index = 1;

    public long Index
    {
        get
        {
            lock (ownerLock)
            {
                return _index;
            }
        }
    }

    public RegistryView ViewLocked(IEnumerable<ServiceInstance> own) => _view ??= new RegistryView(_index, [.. own, .. _imported.All]);

    /// <summary>Raises the index, drops the cached view and wakes blocking queries.</summary>
    public void ChangedLocked()
    {
        _index++;
        _view = null;
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }

    /// <summary>Replaces a source's imported instances; true (and a change) when they differ.</summary>
    public bool ReplaceImportedLocked(string source, IReadOnlyList<ServiceInstance> instances)
    {
        if (!_imported.Replace(source, instances))
        {
            return false;
        }

        ChangedLocked();
        return true;
    }

    /// <summary>
    /// Returns at once when the index is already past <paramref name="afterIndex"/>, else when it
    /// moves or after <paramref name="maxWait"/> (on the registry's clock), with the view then.
    /// </summary>
    public async Task<RegistryView> WaitForChangeAsync(long afterIndex, TimeSpan maxWait, Func<RegistryView> view, CancellationToken cancellationToken)
    {
        Task changed;
        lock (ownerLock)
        {
            if (_index > afterIndex)
            {
                return view();
            }

            changed = _changed.Task;
        }

        if (maxWait > TimeSpan.Zero)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(maxWait, time, cts.Token);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return view();
    }
}
