/** Stylesheets imported for their effect on layout. */
declare module "*.css";
