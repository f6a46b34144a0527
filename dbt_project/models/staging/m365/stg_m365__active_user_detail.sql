-- Microsoft's headers split OneDrive and SharePoint into two words; the product names do not.
with latest as (
    {{ latest_per_key(source('m365', 'm365__active_user_detail'), ['report_refresh_date', 'user_principal_name']) }}
)

select
    {{ dbt.concat(["report_refresh_date::text", "'|'", "user_principal_name"]) }} as report_key,
    report_refresh_date,
    user_principal_name,
    display_name,
    is_deleted,
    deleted_date,
    has_exchange_license,
    has_one_drive_license as has_onedrive_license,
    has_share_point_license as has_sharepoint_license,
    has_skype_for_business_license,
    has_yammer_license,
    has_teams_license,
    exchange_last_activity_date,
    one_drive_last_activity_date as onedrive_last_activity_date,
    share_point_last_activity_date as sharepoint_last_activity_date,
    skype_for_business_last_activity_date,
    yammer_last_activity_date,
    teams_last_activity_date,
    exchange_license_assign_date,
    one_drive_license_assign_date as onedrive_license_assign_date,
    share_point_license_assign_date as sharepoint_license_assign_date,
    skype_for_business_license_assign_date,
    yammer_license_assign_date,
    teams_license_assign_date,
    assigned_products
from latest
