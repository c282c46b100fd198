namespace Herald.Xds.ControlPlane;

/// <summary>The registry at one index: instances ordered by service, then id.</summary>
public sealed class RegistryView
{
    private readonly Dictionary<string, List<ServiceInstance>> _byService;

    public RegistryView(long index, IReadOnlyList<ServiceInstance> instances)
    {
        ArgumentNullException.ThrowIfNull(instances);
        Index = index;
        var sorted = instances.OrderBy(i => i.Service, StringComparer.Ordinal).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        Instances = sorted;
        _byService = new Dictionary<string, List<ServiceInstance>>(StringComparer.Ordinal);
        foreach (var instance in sorted)
        {
            if (!_byService.TryGetValue(instance.Service, out var list))
            {
                _byService[instance.Service] = list = [];
            }

            list.Add(instance);
        }

        Services = [.. _byService.Keys.Order(StringComparer.Ordinal)];
    }

    public static RegistryView Empty { get; } = new(0, []);

    public long Index { get; }

    public IReadOnlyList<ServiceInstance> Instances { get; }

    public IReadOnlyList<string> Services { get; }

    public IReadOnlyList<ServiceInstance> InstancesOf(string service) =>
        _byService.TryGetValue(service, out var list) ? list : [];
}
