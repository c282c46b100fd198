using Herald.Proxy.Config;
using EnvoyOutlierDetection = Envoy.Config.Cluster.V3.OutlierDetection;

namespace Herald.Proxy.Upstream.Health;

/// <summary>Envoy v3 <c>Cluster.outlier_detection</c> to a validated <see cref="OutlierDetectionConfig"/>.</summary>
internal static class OutlierDetectionTranslator
{
    public static OutlierDetectionConfig? Translate(EnvoyOutlierDetection? outlier, string path)
    {
        if (outlier is null)
        {
            return null;
        }

        // split_external_local_origin_errors: only false (the default) is honoured, so a true
        // value is refused by RequireOnly; the local-origin and failure-percentage detectors are
        // not implemented.
        FieldPolicy.RequireOnly(
            outlier,
            path,
            "consecutive_5xx",
            "interval",
            "base_ejection_time",
            "max_ejection_percent",
            "enforcing_consecutive_5xx",
            "enforcing_success_rate",
            "success_rate_minimum_hosts",
            "success_rate_request_volume",
            "success_rate_stdev_factor",
            "consecutive_gateway_failure",
            "enforcing_consecutive_gateway_failure",
            "max_ejection_time",
            "max_ejection_time_jitter",
            "successful_active_health_check_uneject_host");

        var defaults = new OutlierDetectionConfig();
        var config = new OutlierDetectionConfig
        {
            Consecutive5xx = AtLeastOne(outlier.Consecutive5Xx, defaults.Consecutive5xx, path, "consecutive_5xx"),
            ConsecutiveGatewayFailure = AtLeastOne(outlier.ConsecutiveGatewayFailure, defaults.ConsecutiveGatewayFailure, path, "consecutive_gateway_failure"),
            EnforcingConsecutive5xx = Percent(outlier.EnforcingConsecutive5Xx, defaults.EnforcingConsecutive5xx, path, "enforcing_consecutive_5xx"),
            EnforcingConsecutiveGatewayFailure = Percent(
                outlier.EnforcingConsecutiveGatewayFailure, defaults.EnforcingConsecutiveGatewayFailure, path, "enforcing_consecutive_gateway_failure"),
            Interval = HealthCheckTranslator.Duration(outlier.Interval, defaults.Interval, path, "interval", allowZero: false),
            BaseEjectionTime = HealthCheckTranslator.Duration(outlier.BaseEjectionTime, defaults.BaseEjectionTime, path, "base_ejection_time", allowZero: false),
            MaxEjectionTime = HealthCheckTranslator.Duration(outlier.MaxEjectionTime, defaults.MaxEjectionTime, path, "max_ejection_time", allowZero: false),
            MaxEjectionTimeJitter = HealthCheckTranslator.Duration(outlier.MaxEjectionTimeJitter, TimeSpan.Zero, path, "max_ejection_time_jitter", allowZero: true),
            MaxEjectionPercent = Percent(outlier.MaxEjectionPercent, defaults.MaxEjectionPercent, path, "max_ejection_percent"),
            EnforcingSuccessRate = Percent(outlier.EnforcingSuccessRate, defaults.EnforcingSuccessRate, path, "enforcing_success_rate"),
            SuccessRateMinimumHosts = outlier.SuccessRateMinimumHosts ?? defaults.SuccessRateMinimumHosts,
            SuccessRateRequestVolume = AtLeastOne(outlier.SuccessRateRequestVolume, defaults.SuccessRateRequestVolume, path, "success_rate_request_volume"),
            SuccessRateStdevFactor = outlier.SuccessRateStdevFactor ?? defaults.SuccessRateStdevFactor,
            SuccessfulActiveHealthCheckUnejectHost = outlier.SuccessfulActiveHealthCheckUnejectHost ?? true,
        };

        // Envoy: when unset, max_ejection_time is 300 s or base_ejection_time, whichever is larger;
        // when set, it may not be below base_ejection_time.
        if (outlier.MaxEjectionTime is null)
        {
            config = config with { MaxEjectionTime = config.BaseEjectionTime > config.MaxEjectionTime ? config.BaseEjectionTime : config.MaxEjectionTime };
        }
        else if (config.MaxEjectionTime < config.BaseEjectionTime)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "max_ejection_time"),
                $"max_ejection_time ({config.MaxEjectionTime.TotalSeconds} s) is below base_ejection_time ({config.BaseEjectionTime.TotalSeconds} s)",
                "Raise max_ejection_time to at least base_ejection_time, or remove it");
        }

        return config;
    }

    private static uint AtLeastOne(uint? value, uint fallback, string path, string field)
    {
        if (value is 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, field), $"{field} must be at least 1", $"Set {field} to 1 or more, or remove it (default {fallback})");
        }

        return value ?? fallback;
    }

    private static uint Percent(uint? value, uint fallback, string path, string field)
    {
        if (value > 100)
        {
            throw new ConfigException(FieldPolicy.Join(path, field), $"{value} is not a percentage", "Use a value from 0 to 100");
        }

        return value ?? fallback;
    }
}
