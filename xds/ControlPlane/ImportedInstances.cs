namespace Herald.Xds.ControlPlane;

/// <summary>
/// Instances imported from other registries, per source, replaced whole on each import. Not
/// thread-safe: the owning registry calls it under its lock.
/// </summary>
internal sealed class ImportedInstances
{
    private readonly SortedDictionary<string, IReadOnlyList<ServiceInstance>> _bySource = new(StringComparer.Ordinal);

    public IEnumerable<ServiceInstance> All
    {
        get
        {
            foreach (var instances in _bySource.Values)
            {
                foreach (var instance in instances)
                {
                    yield return instance;
                }
            }
        }
    }

    /// <summary>Sets the source's instances; false when they equal what it had (nothing changed).</summary>
    public bool Replace(string source, IReadOnlyList<ServiceInstance> instances)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentNullException.ThrowIfNull(instances);
        var previous = _bySource.GetValueOrDefault(source) ?? [];
        if (Same(previous, instances))
        {
            return false;
        }

        if (instances.Count == 0)
        {
            _bySource.Remove(source);
        }
        else
        {
            _bySource[source] = [.. instances.Select(i => i with { Source = i.Source ?? source })];
        }

        return true;
    }

    private static bool Same(IReadOnlyList<ServiceInstance> a, IReadOnlyList<ServiceInstance> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x.Id != y.Id || x.Service != y.Service || x.Address != y.Address || x.Port != y.Port || x.Version != y.Version || (y.Source is not null && x.Source != y.Source)
                || x.Labels.Count != y.Labels.Count || x.Labels.Any(l => !y.Labels.TryGetValue(l.Key, out var v) || v != l.Value))
            {
                return false;
            }
        }

        return true;
    }
}
