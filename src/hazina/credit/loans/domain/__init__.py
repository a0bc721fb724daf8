"""The pure core of loans: schedules, accrual, arrears ageing, provisioning. No I/O."""
